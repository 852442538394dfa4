"""Load ``include/mappings/counterparties.yaml`` into a validated :class:`CounterpartyMapping`.

Every problem raises :class:`MappingError` naming the file, the key path and what is wrong, e.g.
``include/mappings/counterparties.yaml: fields.inn.onec: unknown 1C attribute 'ИНH'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from crm1c.mapping.schema import CounterpartyMapping

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_COUNTERPARTY_MAPPING = PROJECT_ROOT / "include" / "mappings" / "counterparties.yaml"
_FRIENDLY = {
    "extra_forbidden": "unknown key (not part of the mapping format)",
    "missing": "required key is missing",
}


class MappingError(ValueError):
    """A mapping file that cannot be used; ``problems`` lists ``"<key path>: <what>"`` lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice (PyYAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(None, None, f"line {line}: key '{key}' given twice")
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_counterparty_mapping(path: str | Path = DEFAULT_COUNTERPARTY_MAPPING) -> CounterpartyMapping:
    """Read and validate the counterparty mapping (call it at task start, not at DAG parse time)."""
    path = Path(path)
    source = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(source, [f"cannot read the file: {exc}"]) from exc
    return parse_counterparty_mapping(text, source)


def parse_counterparty_mapping(text: str, source: str = "<text>") -> CounterpartyMapping:
    """Validate mapping YAML given as text; ``source`` names it in error messages."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise MappingError(source, [f"not valid YAML: {_yaml_problem(exc)}"]) from exc
    if not isinstance(data, dict):
        raise MappingError(source, ["the file must be a YAML mapping (key: value) at the top level"])
    try:
        return CounterpartyMapping.model_validate(data)
    except ValidationError as exc:
        raise MappingError(source, [p for e in exc.errors() for p in _problems(e)]) from exc


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


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)
