"""The run as GitHub workflow commands: an ::error per failure that fails the run, a ::warning per failure
reported below --fail-on, each root cause once, capped at what GitHub shows. Rendered from the RunResult."""

from __future__ import annotations

from viewster_infra.results import Line, RunResult

MAX_ANNOTATIONS = 10  # GitHub shows at most 10 error annotations (and 10 warnings) per step


def annotations(run: RunResult) -> list[str]:
    return _commands("error", run.summary_lines(run.failing())) + _commands(
        "warning", run.summary_lines(run.below_fail_on())
    )


def _commands(level: str, lines: list[Line]) -> list[str]:
    commands = [
        f"::{level} title={_property(_title(line))}::{_data(_message(line))}" for line in lines[:MAX_ANNOTATIONS]
    ]
    if len(lines) > MAX_ANNOTATIONS:
        commands.append(
            f"::notice::{len(lines) - MAX_ANNOTATIONS} more {level}s are not annotated (GitHub shows "
            f"{MAX_ANNOTATIONS} per step); the step summary and the report list them all"
        )
    return commands


def _title(line: Line) -> str:
    result = line.result
    return f"{result.control} {result.id}" if result.control else result.id


def _message(line: Line) -> str:
    return "\n".join([line.text, *line.beneath])


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
