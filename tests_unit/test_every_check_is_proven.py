"""Every check in tests_infra has a drift test (marked with @proves) showing that it can fail."""

import importlib
import inspect
import pkgutil

import tests_infra
import tests_unit


def functions_of(package, prefix: str = "test_"):
    for module_info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(module_info.name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith(prefix) and function.__module__ == module.__name__:
                yield name, function


def test_every_check_has_a_drift_test():
    checks = {name for name, _ in functions_of(tests_infra)}
    proven = {check for _, test in functions_of(tests_unit) for check in getattr(test, "proves", ())}
    assert len(checks) > 40
    assert proven <= checks, f"@proves names checks that do not exist: {sorted(proven - checks)}"
    assert checks - proven == set(), "checks without a drift test: " + ", ".join(sorted(checks - proven))
