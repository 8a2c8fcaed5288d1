"""The pytest plugin: a table of hooks, each delegating to the module that does the work. The fixtures checks use
are in fixtures.py; every output is rendered from one RunResult (results.py) by one module of report/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from _pytest import junitxml  # xml_key: junitxml's own handle on the report being written

from viewster_infra import (
    collection,
    diagnosis,
    expectations,
    incidents,
    options,
    outcomes,
    phases,
    prefetch,
    reporting,
    settle,
)
from viewster_infra.collection import is_check
from viewster_infra.context import RunContext, RunInputs, RunSetupError, start_run
from viewster_infra.report import annotations, markdown, terminal, write
from viewster_infra.results import RunResult
from viewster_infra.spec.loader import SpecError

CONTEXT = pytest.StashKey[RunContext]()
GATE = pytest.StashKey[options.GateOptions]()
REPORTS = pytest.StashKey[tuple[Path, Path, Path]]()  # html, JUnit xml, json
RECORDER = pytest.StashKey[outcomes.Recorder]()
CHAINS = pytest.StashKey[diagnosis.Chains]()
PHASES = pytest.StashKey[phases.Phases]()
RUN = pytest.StashKey[RunResult]()  # the run's result, made once the checks are done: every output renders it
DOCUMENT = pytest.StashKey[dict]()  # the JSON report as written
VERDICTS = pytest.StashKey[list]()
REFUSED = pytest.StashKey[str]()  # why the collected checks are refused (a usage error): nothing is gathered
WAIVER_CHECKS = "test_waivers.py"


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add(parser)


@pytest.hookimpl(tryfirst=True)  # before junitxml reads the report path
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", incidents.MARKER_HELP)
    config.addinivalue_line("markers", prefetch.MARKER_HELP)
    config.stash[PHASES] = phases.Phases()
    worker_inputs = getattr(config, "workerinput", {}).get("viewster")
    if worker_inputs is not None:
        context = config.stash[CONTEXT] = RunContext.rebuild(RunInputs(**worker_inputs))
        context.hosts.together = config.getoption("diagnose") is None
        _settle_if_asked(config, context)
        return
    if hasattr(config, "workerinput") or not collection.runs_checks(config):
        return
    try:
        gate = config.stash[GATE] = options.gate_options(config)
        config.stash[CHAINS] = options.checklists(config)
        context = start_run(**options.run_arguments(config, gate))
    except (ValueError, SpecError, RunSetupError) as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[CONTEXT] = context
    config.stash[PHASES].mark("setup_done")
    context.hosts.together = config.getoption("diagnose") is None  # --diagnose reads only what its checks ask for
    config.stash[RECORDER] = outcomes.Recorder()
    config.pluginmanager.register(config.stash[RECORDER], "viewster-outcomes")
    _settle_if_asked(config, context)
    paths = reporting.new_report_paths(config.getoption("reports_dir") or config.rootpath / "reports", context.env)
    if not config.option.xmlpath:
        config.option.xmlpath = str(paths[1])
    config.stash[REPORTS] = (paths[0], Path(config.option.xmlpath), paths[2])


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
            ids = [f"{context.env}-{w.control}-{'-'.join((w.resource or 'any').split())}" for w in accepted]
            metafunc.parametrize("waiver", accepted, ids=ids)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Without waivers there is nothing for the waiver check to check (not an "empty parameter set" skip)."""
    context = config.stash.get(CONTEXT, None)
    if context is not None and collection_path.name == WAIVER_CHECKS and not context.waivers.waivers:
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    context = config.stash.get(CONTEXT, None)
    if context is None:
        return
    try:
        collection.prepare(config, context, items, config.stash.get(CHAINS, None))
    except collection.Refused as exc:
        _refuse(config, str(exc))


def _refuse(config: pytest.Config, problem: str):
    """A usage error found in the collected checks. pytest still calls pytest_collection_finish after it (from a
    `finally`), so the refusal is noted for it and the reports: the estate is not read, no report is written."""
    config.stash[REFUSED] = problem
    junit = config.stash.get(junitxml.xml_key, None)
    if junit is not None:  # nor a JUnit file of no tests, which CI would read as green (as junitxml's unconfigure)
        del config.stash[junitxml.xml_key]
        config.pluginmanager.unregister(junit)
    raise pytest.UsageError(problem)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Gather everything the collected checks read, at once and in parallel, before the first check (prefetch.py).
    Under xdist each worker asks for what its collection needs; the fact store still gathers each thing once."""
    context = session.config.stash.get(CONTEXT, None)
    if context is None or REFUSED in session.config.stash:
        return
    timing = session.config.stash[PHASES]
    timing.mark("collected")
    checks = [item for item in session.items if is_check(item)]
    if not checks or session.config.getoption("collectonly"):
        return
    timing.gathered = prefetch.gather(context, prefetch.needed(checks), hosts_together=context.hosts.together)
    timing.mark("gathered")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Each check's result as data, judged waived or advisory where that is what it is (outcomes.py)."""
    report = yield
    context = item.config.stash.get(CONTEXT, None)
    if context is not None:
        outcomes.judge(item, call, report, context, strict=item.config.getoption("strict_recommendations"))
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    return outcomes.status(report)


@pytest.hookimpl(tryfirst=True)  # before junitxml writes its file
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    context = config.stash.get(CONTEXT, None)
    if context is None or REFUSED in config.stash or hasattr(config, "workerinput"):
        return  # a refused run read nothing and reports nothing: its one line says why
    config.stash[PHASES].mark("checked")
    run = config.stash[RUN] = outcomes.run_result(config.stash[RECORDER].results, context, config.getoption("fail_on"))
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = run.exit_code  # the verdict's: failures below --fail-on are reported, not failing
    asked = config.getoption("diagnose")
    verdicts = diagnosis.judge_all(config.stash[CHAINS], run.results, context.env)
    config.stash[VERDICTS] = [v for v in verdicts if v.key == asked] if asked else verdicts
    config.stash[DOCUMENT] = write.reports(
        context,
        run,
        config.stash[REPORTS],
        previous=config.stash[GATE].previous,
        root=config.rootpath,
        diagnosis=diagnosis.document(verdicts, asked),
    )
    config.stash[PHASES].mark("reported")
    junit = config.stash.get(junitxml.xml_key, None)
    if junit is not None:  # the run's facts and verdict as <properties> of the JUnit test suite, for CI and auditors
        facts = reporting.run_facts(context, config.rootpath) | _closing(context)
        for name, value in (facts | {"Verdict": run.verdict(), "Fails on": run.fail_on}).items():
            junit.add_global_property(name, value)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is None:
        return
    context, document = config.stash[CONTEXT], config.stash[DOCUMENT]
    html_path, xml, json_path = config.stash[REPORTS]
    extras = terminal.Extras(
        verdicts=config.stash[VERDICTS],
        diagnosed=config.getoption("diagnose") is not None,
        annotations=annotations.annotations(run) if os.environ.get("GITHUB_ACTIONS") == "true" else [],
        facts=_closing(context),
        phases=config.stash[PHASES].line(),
        changes=document["changes"],
        compare_error=document["run"].get("compare_error"),
        paths={"Report": str(html_path), "JUnit XML": str(xml), "JSON": str(json_path)},
        exit_code=int(exitstatus),
    )
    for title, separator, lines in terminal.sections(run, extras):
        if title is not None:
            terminalreporter.section(title, sep=separator)
        for line in lines:
            terminalreporter.write_line(line)
    summary_md = config.getoption("summary_md")
    if summary_md is not None:
        with summary_md.open("a", encoding="utf-8") as file:
            file.write(markdown.summary(run, reporting.summary_facts(context)))


def _closing(context: RunContext) -> dict[str, str]:
    return reporting.closing_facts(context) | reporting.operations(context)


def pytest_unconfigure(config: pytest.Config) -> None:
    context = config.stash.get(CONTEXT, None)
    if context is None or hasattr(config, "workerinput"):
        return
    context.hosts.close()
    if context.inputs.sandbox_started_by_run:
        from viewster_infra.sandbox import lifecycle  # only a --sandbox run starts one

        lifecycle.down(context.env, config.getoption("sandbox_dir") or config.rootpath / ".sandbox")
    shutil.rmtree(context.run_dir, ignore_errors=True)


def _settle_if_asked(config: pytest.Config, context: RunContext) -> None:
    if context.inputs.settle_seconds:
        inputs = context.inputs
        settling = settle.Settle(context.snapshot.store, inputs.started_at, inputs.settle_seconds)
        config.pluginmanager.register(settling, "viewster-settle")
