"""Reads specs/common.yaml and specs/<env>.yaml into one validated EnvironmentSpec."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from viewster_infra.spec.model import EnvironmentSpec

COMMON_FILE = "common.yaml"
NOT_ENVIRONMENTS = {COMMON_FILE, "controls.yaml", "waivers.yaml", "diagnosis.yaml"}  # the other files of specs/


M = TypeVar("M", bound=BaseModel)
# libyaml's parser (PyYAML's wheels carry it) reads the specs about six times faster than the pure-Python one.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecError(Exception):
    """A spec that cannot be used: the message is one line, `file: path.to.field: what is wrong`."""


@dataclass(frozen=True)
class LoadedSpec:
    env: str
    spec: EnvironmentSpec
    files: tuple[Path, ...]
    sha256: str


def environments(spec_dir: Path) -> list[str]:
    """The environments the spec directory defines: one <env>.yaml each beside common.yaml (controls.yaml,
    waivers.yaml and diagnosis.yaml are not environments)."""
    return sorted(p.stem for p in spec_dir.glob("*.yaml") if p.name not in NOT_ENVIRONMENTS)


def merged_document(spec_dir: Path, env: str) -> dict[str, Any]:
    """common.yaml merged with <env>.yaml, "{env}" substituted, not yet validated."""
    return _substitute(_merge(_read(spec_dir / COMMON_FILE), _read(spec_dir / f"{env}.yaml")), env)


def load(spec_dir: Path, env: str) -> LoadedSpec:
    common_path, env_path = spec_dir / COMMON_FILE, spec_dir / f"{env}.yaml"
    common, own = _read(common_path), _read(env_path)
    merged = _substitute(_merge(common, own), env)
    try:
        spec = EnvironmentSpec.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = tuple(str(p) for p in first["loc"])
        if _defines(own, path):
            origin = str(env_path)
        elif _defines(common, path):
            origin = str(common_path)
        else:  # a missing field belongs in either file
            origin = f"{common_path} or {env_path}"
        where = ".".join(path) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise SpecError(f"{origin}: {where}: {_reason(first)}{more}") from None
    digest = hashlib.sha256(common_path.read_bytes() + b"\0" + env_path.read_bytes()).hexdigest()
    return LoadedSpec(env=env, spec=spec, files=(common_path, env_path), sha256=digest)


def read_model(path: Path, model: type[M]) -> M:
    """A YAML file of specs/ other than the environments' (controls, checklists), validated by its pydantic model;
    SpecError is one line, `file: path.to.field: what is wrong`."""
    try:
        return model.model_validate(_read(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise SpecError(f"{path}: {where}: {_reason(first)}") from None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        raise SpecError(f"{path}: {line}not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(f"{path}: (top level): expected a mapping, found {type(data).__name__}")
    return data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _substitute(node: Any, env: str) -> Any:
    if isinstance(node, str):
        return node.replace("{env}", env)
    if isinstance(node, dict):
        return {key: _substitute(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(value, env) for value in node]
    return node


def _defines(tree: Any, path: tuple[str, ...]) -> bool:
    for part in path:
        if isinstance(tree, dict) and part in tree:
            tree = tree[part]
        elif isinstance(tree, list) and part.isdigit() and int(part) < len(tree):
            tree = tree[int(part)]
        else:
            return False
    return True


def _reason(error: dict[str, Any]) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in ("missing", "extra_forbidden"):
        return message.lower()
    return f"{message} (found {error['input']!r})"
