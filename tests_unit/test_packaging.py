"""The suite installs and runs with its runtime dependencies only: what it imports outside the sandbox is declared
in pyproject.toml's dependencies, the sandbox's and the tests' tools are extras, and a run against the estate (no
--sandbox) imports nothing of the sandbox."""

import ast
import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

from tests_unit.harness import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = {Requirement(r).name.lower() for r in PROJECT["dependencies"]}
SANDBOX_ONLY = {"moto", "pika", "werkzeug"}


def third_party_imports(folder: Path, *skip: str) -> set[str]:
    found = set()
    for path in folder.rglob("*.py"):
        if set(skip) & set(path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name != "viewster_infra"}


def test_what_the_suite_imports_is_a_runtime_dependency():
    distributions = packages_distributions()
    # the sandbox and the MCP server are extras ([sandbox], [mcp]): a run of the suite imports neither
    imported = third_party_imports(ROOT / "viewster_infra", "sandbox", "mcp") | third_party_imports(
        ROOT / "tests_infra", "sandbox"
    )
    imported -= {"tests_infra", "tests_unit", "_pytest"}  # the checks themselves; pytest's own internals
    undeclared = {name for name in imported if not {d.lower() for d in distributions.get(name, [name])} & RUNTIME}
    assert undeclared == set(), "imported by the suite but not in [project] dependencies"
    assert not RUNTIME & SANDBOX_ONLY and not RUNTIME & {"selenium", "ruff", "jsonschema", "pytest-xdist", "mcp"}


def test_a_run_against_the_estate_imports_nothing_of_the_sandbox(staging, tmp_path):
    """Not --sandbox: the AWS half of a real run (credentials from the environment, the endpoint boto3 is given);
    afterwards no module of the sandbox, moto or pika is loaded in the process."""
    script = (
        "import sys, json, pytest\n"
        f"code = pytest.main(['tests_infra', '--env=staging', '-k', 'rds_engine_version', '-q', "
        f"'--reports-dir={tmp_path}', '-p', 'no:cacheprovider'])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('moto', 'pika') "
        "or m.startswith('viewster_infra.sandbox'))\n"
        "print(json.dumps({'code': int(code), 'loaded': loaded}))\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment |= {
        "AWS_ENDPOINT_URL": staging.state.aws_endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["code"] == 0, done.stdout[-2000:]
    assert said["loaded"] == []
