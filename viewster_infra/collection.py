"""What the collected checks are: each one's control, severity and resource (kept in its stash for its result),
only the checks of the asked checklist under --diagnose, and no "empty parameter set" skips."""

from __future__ import annotations

from pathlib import Path

import pytest

from viewster_infra import controls, diagnosis, incidents
from viewster_infra.outcomes import CHECK

CHECKS_DIR = "tests_infra"


class Refused(Exception):
    """A usage error found in the collected checks (a check without a control, a malformed incident marker)."""


def runs_checks(config: pytest.Config) -> bool:
    """True when the run collects anything under tests_infra/ (then --env is required)."""
    checks = (config.rootpath / CHECKS_DIR).resolve()
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == checks or checks in path.parents or path in checks.parents:
            return True
    return False


def is_check(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and CHECKS_DIR in item.path.parts


def prepare(config: pytest.Config, context, items: list[pytest.Item], chains: diagnosis.Chains | None) -> None:
    """Drop what is no check here, keep only the asked chain's checks, and give every check its control."""
    # A check whose spec entries this environment does not have (production has no backup recommendation) is not
    # a check here: no "empty parameter set" skip in the reports.
    items[:] = [item for item in items if not _without_entries(item)]
    _keep_diagnosed_chain(config, context, items, chains)
    for item in (i for i in items if is_check(i)):
        item.stash[CHECK] = _meaning(item, context)


def _meaning(item: pytest.Function, context) -> dict:
    marker = item.get_closest_marker(incidents.MARKER)
    if marker is not None:  # an incident check is its own control
        try:
            incident = incidents.from_marker(marker)
        except incidents.IncidentMarkerError as exc:
            raise Refused(f"{item.path}: {item.originalname}: incident marker: {exc}") from None
        return {
            "control": incident.id,
            "severity": incident.severity,
            "resource": _resource(item),
            "incident": {"id": incident.id, "date": incident.date, "summary": incident.summary, "link": incident.link},
        }
    found = context.control_of(item.originalname)
    if found is None:
        raise Refused(
            f"{item.originalname} has no control in {Path(context.inputs.spec_dir) / controls.REGISTRY_FILE}: "
            "add one (id, title, severity, guide)"
        )
    control_id, _, severity = found
    return {"control": control_id, "severity": severity, "resource": _resource(item), "incident": None}


def _keep_diagnosed_chain(config, context, items: list[pytest.Item], chains) -> None:
    """--diagnose: only the checks of that checklist run (and so only what they read is read)."""
    asked = config.getoption("diagnose")
    if asked is None:
        return
    chains = chains or diagnosis.load(Path(context.inputs.spec_dir))  # xdist workers: not yet read
    chain = chains.chains[asked]
    keep = [item for item in items if diagnosis.in_chain(chain, item.name, context.env)]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


def _resource(item: pytest.Function) -> str | None:
    """What a check is about, as its findings name it: the label of its spec entry ("rds viewster-staging-database")."""
    for value in getattr(getattr(item, "callspec", None), "params", {}).values():
        label = getattr(value, "label", None) or getattr(value, "name", None)
        if isinstance(label, str):
            return label
    return None


def _without_entries(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("skip")
    return marker is not None and str(marker.kwargs.get("reason", "")).startswith("got empty parameter set")
