"""The pytest plugin's hooks: options, the run's context, parameters from the spec, report metadata.
The fixtures checks use are in fixtures.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest
from _pytest import junitxml  # xml_key: junitxml's own handle on the report being written

from viewster_infra import (
    controls,
    deploy,
    diagnosis,
    expectations,
    gate,
    incidents,
    nginx_time,
    outcomes,
    phases,
    prefetch,
    reporting,
    settle,
)
from viewster_infra.context import RunContext, RunInputs, RunSetupError, start_run
from viewster_infra.report import write
from viewster_infra.sandbox import lifecycle
from viewster_infra.spec.loader import SpecError

CONTEXT = pytest.StashKey[RunContext]()
REPORTS = pytest.StashKey[tuple[Path, Path, Path]]()  # html, JUnit xml, json
OUTCOMES = pytest.StashKey[outcomes.Recorder]()
CHANGES = pytest.StashKey[dict]()
CHAINS = pytest.StashKey[diagnosis.Chains]()
VERDICTS = pytest.StashKey[list]()
PHASES = pytest.StashKey[phases.Phases]()
REFUSED = pytest.StashKey[str]()  # why the collected checks are refused (a usage error): nothing is gathered
WAIVER_CHECKS = "test_waivers.py"
CHECKS_DIR = "tests_infra"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("viewster", "Viewster infrastructure checks")
    group.addoption("--env", help="environment to check, one of the specs/<env>.yaml files (required for tests_infra)")
    group.addoption(
        "--aws-profile",
        help="AWS profile (default: AWS_PROFILE; else credentials in the environment; else the spec's profile)",
    )
    group.addoption("--aws-region", help="AWS region (default: the spec's aws.region)")
    group.addoption(
        "--sandbox",
        action="store_true",
        help="check the local sandbox instead of AWS (started for the run if not running)",
    )
    group.addoption("--ssh-user", help="SSH user for the hosts (default: the spec's hosts.ssh_user)")
    group.addoption(
        "--ssh-key-from-ssm",
        action="store_true",
        help="read the hosts' SSH key from SSM (spec: hosts.ssh_key_parameter) into a 0600 file removed after the run",
    )
    group.addoption("--spec-dir", type=Path, help="directory of the spec files (default: <rootdir>/specs)")
    group.addoption("--sandbox-dir", type=Path, help="sandbox state directory (default: <rootdir>/.sandbox)")
    group.addoption(
        "--reports-dir", type=Path, help="where each run's HTML and JUnit XML reports go (default: <rootdir>/reports)"
    )
    group.addoption(
        "--deployed-sha",
        default=os.environ.get("VIEWSTER_DEPLOYED_SHA") or None,
        help="the commit a deploy shipped (7-40 hex; default: VIEWSTER_DEPLOYED_SHA): prove its image is what runs",
    )
    group.addoption(
        "--settle",
        metavar="DURATION",
        help="re-read and re-check failing checks until they pass or DURATION (90s, 2m) from the start is up",
    )
    group.addoption(
        "--fail-on",
        choices=controls.SEVERITIES,
        default="low",
        help="the lowest severity whose failures fail the run (default: low, any failure); the rest are reported",
    )
    group.addoption(
        "--strict-recommendations",
        action="store_true",
        help="recommendations not followed fail the run (default: reported in their own section only; pytest's own "
        "--strict is another thing)",
    )
    group.addoption(
        "--compare-to",
        metavar="PATH",
        type=Path,
        help="the JSON report to compare with (default: the newest earlier one of the environment in the reports dir)",
    )
    group.addoption(
        "--summary-md",
        metavar="PATH",
        type=Path,
        help="append a short Markdown summary of the run to PATH (e.g. $GITHUB_STEP_SUMMARY)",
    )
    group.addoption(
        "--diagnose",
        metavar="CHECKLIST",
        help="run only one of the guide's troubleshooting checklists (specs/diagnosis.yaml: api, websocket, db, "
        "redis, cpu) and print it link by link, the first broken link marked",
    )


@pytest.hookimpl(tryfirst=True)  # before junitxml reads the report path
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", incidents.MARKER_HELP)
    config.stash[PHASES] = phases.Phases()
    worker_inputs = getattr(config, "workerinput", {}).get("viewster")
    if worker_inputs is not None:
        config.stash[CONTEXT] = RunContext.rebuild(RunInputs(**worker_inputs))
        config.stash[CONTEXT].hosts.together = config.getoption("diagnose") is None
        _settle_if_asked(config, config.stash[CONTEXT])
        return
    if hasattr(config, "workerinput") or not _runs_checks(config):
        return
    root = config.rootpath
    try:
        deployed_sha, settle_seconds = _gate_options(config)
        chains = diagnosis.load(config.getoption("spec_dir") or root / "specs")
    except (ValueError, SpecError) as exc:
        raise pytest.UsageError(str(exc)) from None
    asked = config.getoption("diagnose")
    if asked is not None and asked not in chains.chains:
        raise pytest.UsageError(f"--diagnose={asked}: no such checklist; choose one of {', '.join(chains.chains)}")
    config.stash[CHAINS] = chains
    try:
        context = start_run(
            env=config.getoption("env"),
            spec_dir=config.getoption("spec_dir") or root / "specs",
            profile_option=config.getoption("aws_profile"),
            region_option=config.getoption("aws_region"),
            sandbox=config.getoption("sandbox"),
            sandbox_dir=config.getoption("sandbox_dir") or root / ".sandbox",
            ssh_config=config.getoption("ssh_config"),  # --ssh-config and --ssh-identity-file are testinfra's
            ssh_identity_file=config.getoption("ssh_identity_file"),
            ssh_user=config.getoption("ssh_user"),
            ssh_key_from_ssm=config.getoption("ssh_key_from_ssm"),
            deployed_sha=deployed_sha,
            settle_seconds=settle_seconds,
        )
    except RunSetupError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[CONTEXT] = context
    config.stash[PHASES].mark("setup_done")
    context.hosts.together = asked is None  # --diagnose reads only the hosts its checks ask for
    config.stash[OUTCOMES] = outcomes.Recorder()
    config.pluginmanager.register(config.stash[OUTCOMES], "viewster-outcomes")
    _settle_if_asked(config, context)

    html_path, xml, json_path = reporting.new_report_paths(
        config.getoption("reports_dir") or root / "reports", context.env
    )
    if not config.option.xmlpath:
        config.option.xmlpath = str(xml)
    config.stash[REPORTS] = (html_path, Path(config.option.xmlpath), json_path)


@pytest.hookimpl(optionalhook=True)
def pytest_metadata(metadata: dict, config: pytest.Config) -> None:
    """pytest-metadata: the run's facts head the HTML report's environment table."""
    context = config.stash.get(CONTEXT, None)
    if context is not None:
        metadata.update(reporting.run_facts(context, config.rootpath))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: hand each worker the run's context as data, so it repeats no setup and no API call."""
    context = node.config.stash.get(CONTEXT, None)
    if context is not None:
        node.workerinput["viewster"] = context.as_worker_input()


def pytest_report_header(config: pytest.Config) -> list[str]:
    context = config.stash.get(CONTEXT, None)
    if context is None:
        return []
    return [f"{key}: {value}" for key, value in reporting.run_facts(context, config.rootpath).items()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    context = metafunc.config.stash.get(CONTEXT, None)
    if context is not None:
        expectations.parametrize(metafunc, context.env, context.spec)
        if "waiver" in metafunc.fixturenames:
            accepted = context.waivers.waivers
            ids = [f"{context.env}-{w.control}-{w.resource or 'any'}" for w in accepted]
            metafunc.parametrize("waiver", accepted, ids=ids)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Without waivers there is nothing for the waiver check to check (not an "empty parameter set" skip)."""
    context = config.stash.get(CONTEXT, None)
    if context is not None and collection_path.name == WAIVER_CHECKS and not context.waivers.waivers:
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every check carries its control and this environment's severity (report, JUnit properties, --fail-on)."""
    context = config.stash.get(CONTEXT, None)
    if context is None:
        return
    # A check whose spec entries this environment does not have (production has no backup recommendation) is not
    # a check here: no "empty parameter set" skip in the reports.
    items[:] = [item for item in items if not _without_entries(item)]
    _keep_diagnosed_chain(config, context, items)
    for item in items:
        if not isinstance(item, pytest.Function) or CHECKS_DIR not in item.path.parts:
            continue
        marker = item.get_closest_marker(incidents.MARKER)
        if marker is not None:  # an incident check is its own control
            try:
                incident = incidents.from_marker(marker)
            except incidents.IncidentMarkerError as exc:
                _refuse(config, f"{item.path}: {item.originalname}: incident marker: {exc}")
            item.user_properties += [("control", incident.id), ("severity", incident.severity)]
            item.user_properties += incident.properties()
            continue
        found = context.control_of(item.originalname)
        if found is None:
            _refuse(
                config,
                f"{item.originalname} has no control in {Path(context.inputs.spec_dir) / controls.REGISTRY_FILE}: "
                "add one (id, title, severity, guide)",
            )
        control_id, _, severity = found
        item.user_properties += [("control", control_id), ("severity", severity)]
        resource = _resource(item)
        if resource is not None:
            item.user_properties.append(("resource", resource))


def _refuse(config: pytest.Config, problem: str) -> NoReturn:
    """A usage error found in the collected checks. pytest still calls pytest_collection_finish after it (from a
    `finally`), so the refusal is noted for it and the reports: the estate is not read, no report is written."""
    config.stash[REFUSED] = problem
    junit = config.stash.get(junitxml.xml_key, None)
    if junit is not None:  # nor a JUnit file of no tests, which CI would read as green (as junitxml's unconfigure)
        del config.stash[junitxml.xml_key]
        config.pluginmanager.unregister(junit)
    raise pytest.UsageError(problem)


def _keep_diagnosed_chain(config: pytest.Config, context: RunContext, items: list[pytest.Item]) -> None:
    """--diagnose: only the checks of that checklist run (and so only what they read is read)."""
    asked = config.getoption("diagnose")
    if asked is None:
        return
    chains = config.stash.get(CHAINS, None) or diagnosis.load(Path(context.inputs.spec_dir))  # xdist: not yet read
    chain = chains.chains[asked]
    keep = [item for item in items if diagnosis.in_chain(chain, item.name, context.env)]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    """Gather everything the collected checks read, at once and in parallel, before the first check (prefetch.py).
    Under xdist each worker asks for what its collection needs; the fact store still gathers each thing once."""
    context = session.config.stash.get(CONTEXT, None)
    if context is None or REFUSED in session.config.stash:
        return
    timing = session.config.stash[PHASES]
    timing.mark("collected")
    checks = [
        item.function for item in session.items if isinstance(item, pytest.Function) and CHECKS_DIR in item.path.parts
    ]
    if not checks or session.config.getoption("collectonly"):
        return
    timing.gathered = prefetch.gather(context, prefetch.needed(checks), hosts_together=context.hosts.together)
    timing.mark("gathered")


@pytest.hookimpl(tryfirst=True)  # before junitxml writes its file
def pytest_sessionfinish(session: pytest.Session) -> None:
    context = session.config.stash.get(CONTEXT, None)
    if context is None or REFUSED in session.config.stash or hasattr(session.config, "workerinput"):
        return  # a refused run read nothing and reports nothing: its one line says why
    session.config.stash[PHASES].mark("checked")
    results = session.config.stash[OUTCOMES].outcomes
    fail_on = session.config.getoption("fail_on")
    if session.exitstatus == pytest.ExitCode.TESTS_FAILED and not gate.failing(results, fail_on):
        session.exitstatus = pytest.ExitCode.OK  # only failures below --fail-on: reported, not failing the run
    config = session.config
    asked = config.getoption("diagnose")
    verdicts = diagnosis.judge_all(config.stash[CHAINS], results, context.env)
    config.stash[VERDICTS] = [v for v in verdicts if v.key == asked] if asked else verdicts
    config.stash[CHANGES] = write.reports(
        context,
        config.stash[OUTCOMES].outcomes,
        config.stash[REPORTS],
        fail_on=fail_on,
        compare_to=config.getoption("compare_to"),
        root=config.rootpath,
        diagnosis=diagnosis.document(verdicts, asked),
    )
    config.stash[PHASES].mark("reported")
    closing = reporting.closing_facts(context) | reporting.operations(context)
    _metadata(session.config).update(closing)
    junit = session.config.stash.get(junitxml.xml_key, None)
    if junit is not None:  # the same facts as <properties> of the JUnit test suite, for CI and auditors
        for name, value in (reporting.run_facts(context, session.config.rootpath) | closing).items():
            junit.add_global_property(name, value)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """A failure a waiver covers is reported as waived, a recommendation not followed as advisory (outcomes.py)."""
    report = yield
    context = item.config.stash.get(CONTEXT, None)
    if context is not None:
        outcomes.judge(item, report, context, strict_recommendations=item.config.getoption("strict_recommendations"))
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    return outcomes.status(report)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    context = config.stash.get(CONTEXT, None)
    if context is None or REFUSED in config.stash:
        return
    recorded = config.stash[OUTCOMES]
    verdicts = config.stash.get(VERDICTS, [])
    if config.getoption("diagnose"):
        terminalreporter.section("diagnosis (문제 진단 체크리스트)", sep="=")
        for line in diagnosis.chain_lines(verdicts[0]):
            terminalreporter.write_line(line)
    elif any(v.implicated for v in verdicts):
        terminalreporter.section("which checklists the failures belong to (문제 진단 체크리스트)", sep="-")
        for line in diagnosis.looks_like(verdicts):
            terminalreporter.write_line(line)
    incident_results = [o for o in recorded.outcomes if "incident" in o.properties]
    if incident_results:
        terminalreporter.section("incident regression tests", sep="-")
        for outcome in incident_results:
            p = outcome.properties
            state = "guard passed" if outcome.outcome == "passed" else f"guard {outcome.outcome.upper()}"
            terminalreporter.write_line(f"{p['incident']} ({p['incident_date']}) {state}: {p['incident_summary']}")
    if recorded.settled:
        terminalreporter.section("settle: checks that needed more than one read", sep="-")
        for line in recorded.settled:
            terminalreporter.write_line(line)
    results = recorded.outcomes
    fail_on = config.getoption("fail_on")
    below = [o for o in results if o.outcome == "failed" and o not in gate.failing(results, fail_on)]
    if below:
        terminalreporter.write_line(
            f"--fail-on={fail_on}: {len(below)} failure(s) below {fail_on} are reported but do not fail the run"
        )
    waived = [o for o in results if o.outcome == "waived"]
    unused = [w.name for w in context.waivers.waivers if w.name not in recorded.waived]
    if waived or unused:
        terminalreporter.section("waivers", sep="-")
        for outcome in waived:
            terminalreporter.write_line(f"WAIVED {outcome.check}: {outcome.message}")
        for name in unused:
            terminalreporter.write_line(f"unused: the waiver for {name} matched no failure in this run")
    advisory = [o for o in results if o.outcome == "advisory"]
    if advisory:
        terminalreporter.section("recommendations not followed (the guide's 비용 최적화 팁; failing nothing)", sep="-")
        for outcome in advisory:
            terminalreporter.write_line(f"{outcome.control} {outcome.message}")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in gate.annotations(results):
            terminalreporter.write_line(line)
    summary_md = config.getoption("summary_md")
    if summary_md is not None:
        facts = {"Account": context.inputs.account_id, "Region": context.inputs.region}
        if context.inputs.deployed_sha:
            facts["Deployed SHA"] = context.inputs.deployed_sha
        if context.inputs.settle_seconds:
            facts["Settle"] = f"{context.inputs.settle_seconds:g} s"
        with summary_md.open("a", encoding="utf-8") as file:
            file.write(gate.summary_markdown(results, facts, context.env))
    for key, value in reporting.closing_facts(context).items():
        terminalreporter.write_line(f"{key}: {value}")
    terminalreporter.write_line(config.stash[PHASES].line())
    changes = config.stash.get(CHANGES, None)
    if changes is not None and changes["compared_to"]:
        terminalreporter.write_line(
            f"Since {changes['compared_to']}: {len(changes['new_failures'])} new failure(s), "
            f"{len(changes['fixed'])} fixed, {len(changes['still_failing'])} still failing"
        )
    html_path, xml, json_path = config.stash[REPORTS]
    terminalreporter.write_line(f"Report: {html_path}")
    terminalreporter.write_line(f"JUnit XML: {xml}")
    terminalreporter.write_line(f"JSON: {json_path}")


def pytest_unconfigure(config: pytest.Config) -> None:
    context = config.stash.get(CONTEXT, None)
    if context is None or hasattr(config, "workerinput"):
        return
    context.hosts.close()
    if context.inputs.sandbox_started_by_run:
        lifecycle.down(context.env, config.getoption("sandbox_dir") or config.rootpath / ".sandbox")
    shutil.rmtree(context.run_dir, ignore_errors=True)


def _runs_checks(config: pytest.Config) -> bool:
    """True when the run collects anything under tests_infra/ (then --env is required)."""
    checks = (config.rootpath / CHECKS_DIR).resolve()
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == checks or checks in path.parents or path in checks.parents:
            return True
    return False


def _metadata(config: pytest.Config) -> dict:
    from pytest_metadata.plugin import metadata_key

    return config.stash[metadata_key]


def _gate_options(config: pytest.Config) -> tuple[str | None, float | None]:
    """--deployed-sha, --settle and --summary-md checked before anything is read: ValueError is one line."""
    sha = config.getoption("deployed_sha")
    deployed_sha = deploy.parse_sha(sha) if sha else None
    settle_seconds = None
    if config.getoption("settle") is not None:
        try:
            settle_seconds = nginx_time.seconds(config.getoption("settle"))
        except ValueError:
            raise ValueError(
                f"--settle {config.getoption('settle')!r} is not a duration (examples: 90s, 2m, 1m30s)"
            ) from None
    summary_md = config.getoption("summary_md")
    if summary_md is not None and not _writable(summary_md):
        raise ValueError(f"--summary-md {summary_md}: cannot write there")
    return deployed_sha, settle_seconds


def _writable(path: Path) -> bool:
    if path.exists():
        return path.is_file() and os.access(path, os.W_OK)
    return path.parent.is_dir() and os.access(path.parent, os.W_OK)


def _settle_if_asked(config: pytest.Config, context: RunContext) -> None:
    if context.inputs.settle_seconds:
        inputs = context.inputs
        settling = settle.Settle(context.snapshot.store, inputs.started_at, inputs.settle_seconds)
        config.pluginmanager.register(settling, "viewster-settle")


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
