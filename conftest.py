"""The suite's pytest plugin lives in viewster_infra.plugin; this file only loads it."""

pytest_plugins = ["viewster_infra.plugin"]
