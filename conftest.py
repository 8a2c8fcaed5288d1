"""The suite's pytest plugin lives in viewster_infra (hooks in plugin.py, fixtures in fixtures.py); this file only
loads it."""

pytest_plugins = ["viewster_infra.plugin", "viewster_infra.fixtures"]
