"""Validated data files (``include/mappings/*.yaml``): read, parse, validate with a pydantic model.

A key given twice is an error (PyYAML would silently keep the last one). Every problem names the file, the
key path and what is wrong, e.g. ``include/mappings/counterparties.yaml: fields.inn.onec: unknown 1C
attribute 'ИНH'``. Plain Python (PyYAML + pydantic), used by every loader of configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAPPINGS_DIR = PROJECT_ROOT / "include" / "mappings"
_FRIENDLY = {
    "extra_forbidden": "unknown key (not part of the file's format)",
    "missing": "required key is missing",
}

Model = TypeVar("Model", bound=BaseModel)


class DataFileError(ValueError):
    """A data file that cannot be used; ``problems`` lists ``"<key path>: <what>"`` lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def load(path: str | Path, model: type[Model], error: type[DataFileError] = DataFileError) -> Model:
    """Read and validate the file at ``path`` as ``model``; problems raise ``error``."""
    path = Path(path)
    source = display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(source, [f"cannot read the file: {exc}"]) from exc
    return parse(text, model, source, error)


def parse(
    text: str, model: type[Model], source: str = "<text>", error: type[DataFileError] = DataFileError
) -> Model:
    """Validate YAML given as text; ``source`` names it in error messages. An empty file is ``{}``."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise error(source, [f"not valid YAML: {_yaml_problem(exc)}"]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(source, ["the file must be a YAML mapping (key: value) at the top level"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(source, [p for e in exc.errors() for p in _problems(e)]) from exc


def display(path: Path) -> str:
    """The path as messages show it: relative to the project when inside it."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(None, None, f"line {line}: key '{key}' given twice")
            seen.add(key)
        return super().construct_mapping(node, deep)


def _problems(error: Any) -> list[str]:
    loc = [str(part) for part in error["loc"] if part != "[key]"]
    path = ".".join(loc)
    message = _FRIENDLY.get(error["type"], error["msg"]).removeprefix("Value error, ")
    if "[key]" in error["loc"]:
        message = f"key '{loc[-1]}': {message}"
        path = ".".join(loc[:-1])
    return [f"{path}: {line}" if path else line for line in message.splitlines()]


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark is not None else problem
