# Two commands for a fresh machine: `make demo` (the suite against a local sandbox) and `make test` (the suite's
# own tests). Both install what they need into .venv first.

# Python compiles each module it imports and keeps the bytecode in __pycache__ (git-ignored): with this variable
# set in the environment it compiles everything at every start instead, 0.3 s of each of the ~40 suite runs
# `make test` starts.
unexport PYTHONDONTWRITEBYTECODE

PYTHON_SYSTEM ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
ENV ?= staging

.PHONY: install install-runtime host-packages browser demo test lint sandbox-up sandbox-down clean

# The suite with its sandbox and the project's test tools (pyproject.toml's extras), for make demo / make test.
install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON_SYSTEM) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The suite alone, with its runtime dependencies: what the post-deploy gate installs (no moto, no test tools).
# Nothing to do where `make install` put the whole set already.
install-runtime:
	@if [ -f $(VENV)/.installed ]; then echo "$(VENV) holds the suite already (make install)"; else \
	  $(PYTHON_SYSTEM) -m venv $(VENV) && $(PYTHON) -m pip install --quiet --disable-pip-version-check . ; fi

# The sandbox's replica hosts run Debian's own sshd, sudo, nginx, redis, rabbitmq, PostgreSQL and dnsmasq, Docker
# Engine (docker.io: a dockerd per host) and the registry they pull from (docker-registry). Installed when missing
# and when we are root; elsewhere the sandbox comes up without hosts and says why.
# Installed means installed: `dpkg -s` also answers for a package removed with its configuration left behind.
installed = dpkg-query -W -f='$${Status}' $(1) 2>/dev/null | grep -q 'install ok installed'
HOST_PACKAGES := openssh-server openssh-client sudo nginx redis-server rabbitmq-server postgresql-15 dnsmasq-base iproute2 util-linux curl tzdata docker.io docker-registry
host-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(HOST_PACKAGES); do $(call installed,$$p) || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi; \
	else echo "not root or no apt-get: the sandbox will run without replica hosts"; fi

# Debian's Chromium, its driver and a Korean font (the guide's section names are Korean): the project's tests look
# at the HTML report in a real browser. Installed when missing and when we are root; elsewhere those tests are
# skipped and say why.
BROWSER_PACKAGES := chromium chromium-driver fonts-nanum
browser:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(BROWSER_PACKAGES); do $(call installed,$$p) || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	      || echo "could not install $$missing: the browser tests will be skipped"; \
	  fi; \
	else echo "not root or no apt-get: the browser tests will be skipped"; fi

# The suite against a compliant local replica of $(ENV), started fresh: its CloudWatch datapoints cover the hour
# before it came up, so a replica left up for longer reports "no data" as a real estate whose metrics stopped
# would. It stays up afterwards so you can make drift yourself and run again; `make sandbox-down` stops it.
demo: install host-packages
	@$(PYTHON) -m viewster_infra.sandbox down --env=$(ENV) >/dev/null
	$(PYTHON) -m viewster_infra.sandbox up --env=$(ENV)
	@$(PYTHON) -m pytest --env=$(ENV) --sandbox; status=$$?; \
	  echo; echo "Report: $$(ls -t reports/$(ENV)-*.html | head -n 1)"; \
	  echo "The sandbox is still up: make sandbox-down stops it."; \
	  exit $$status

# Four workers on two cores: the tests wait (sandbox boots, settle times, timeouts) about as much as they compute.
# loadgroup: the tests marked xdist_group share a worker and what it started (one production sandbox, one IAM moto).
test: install host-packages browser
	$(PYTHON) -m pytest tests_unit -n 4 --dist loadgroup

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/actionlint -no-color .github/workflows/*.yml

sandbox-up: install
	$(PYTHON) -m viewster_infra.sandbox up --env=$(ENV)

sandbox-down: install
	$(PYTHON) -m viewster_infra.sandbox down

clean: sandbox-down
	rm -rf $(VENV) .sandbox
