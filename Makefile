# Two commands for a fresh machine: `make demo` (the suite against a local sandbox) and `make test` (the suite's
# own tests). Both install what they need into .venv first.

PYTHON_SYSTEM ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
ENV ?= staging

.PHONY: install demo test lint sandbox-up sandbox-down clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON_SYSTEM) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The suite against a compliant local replica of $(ENV). The sandbox stays up afterwards so you can make drift
# yourself and run again; `make sandbox-down` stops it.
demo: install sandbox-up
	@$(PYTHON) -m pytest --env=$(ENV) --sandbox; status=$$?; \
	  echo; echo "Report: $$(ls -t reports/$(ENV)-*.html | head -n 1)"; \
	  echo "The sandbox is still up: make sandbox-down stops it."; \
	  exit $$status

test: install
	$(PYTHON) -m pytest tests_unit -n 2

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

sandbox-up: install
	$(PYTHON) -m viewster_infra.sandbox up --env=$(ENV)

sandbox-down: install
	$(PYTHON) -m viewster_infra.sandbox down

clean: sandbox-down
	rm -rf $(VENV) .sandbox
