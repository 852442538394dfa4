"""Layering rules, checked on the source: what may import what.

- ``crm1c.clients`` imports no Airflow and no SQLAlchemy (plain HTTP clients); crm1c never imports the
  contour; TLS is never switched off.
- ``crm1c.domain`` never imports ``crm1c.mapping`` (not even under ``TYPE_CHECKING``): the domain states
  what it reads of a mapping as Protocols (:mod:`crm1c.domain.rules`).
- ``crm1c.clients.bitrix24_lists`` does not import ``crm1c.clients.bitrix24`` (it declares the client it
  calls).

Imports are read with :mod:`ast` from every statement of a module, ``if TYPE_CHECKING:`` blocks and
function bodies included.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
OURS = [PLUGINS / "crm1c" / "clients", PLUGINS / "crm1c" / "hooks"]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = PLUGINS) -> set[str]:
    """Every module ``path`` imports anywhere in its body; ``from a import b`` counts as ``a`` and ``a.b``."""
    package = module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(module: str, target: str) -> bool:
    """``module`` is ``target`` or one of its submodules."""
    return module == target or module.startswith(target + ".")


def offences(root: Path, source: str, forbidden: str) -> list[str]:
    """``file: module`` for each import of ``forbidden`` (or below it) by a module of package ``source``."""
    folder = root.joinpath(*source.split("."))
    files = sorted(folder.rglob("*.py")) if folder.is_dir() else [folder.with_suffix(".py")]
    return [
        f"{path.relative_to(root)}: {module}"
        for path in files
        for module in sorted(imported_modules(path, root))
        if within(module, forbidden)
    ]


RULES = [
    ("crm1c.domain", "crm1c.mapping"),
    ("crm1c.clients.bitrix24_lists", "crm1c.clients.bitrix24"),
    ("crm1c.clients", "airflow"),
    ("crm1c.clients", "sqlalchemy"),
    ("crm1c.clients", "crm1c.staging"),
    ("crm1c.clients", "crm1c.hooks"),
]


@pytest.mark.parametrize(("source", "forbidden"), RULES, ids=[f"{s}-x-{f}" for s, f in RULES])
def test_forbidden_imports(source, forbidden):
    assert offences(PLUGINS, source, forbidden) == []


def test_the_checker_sees_type_checking_blocks_and_relative_imports(tmp_path):
    domain = tmp_path / "crm1c" / "domain"
    domain.mkdir(parents=True)
    (domain / "__init__.py").write_text("")
    (domain / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from crm1c.mapping.schema import M\n"
    )
    (domain / "b.py").write_text("def f():\n    from ..mapping import systems\n")
    (domain / "c.py").write_text("from crm1c import mapping\nimport crm1c.mappings_elsewhere\n")
    assert offences(tmp_path, "crm1c.domain", "crm1c.mapping") == [
        "crm1c/domain/a.py: crm1c.mapping.schema",
        "crm1c/domain/a.py: crm1c.mapping.schema.M",
        "crm1c/domain/b.py: crm1c.mapping",
        "crm1c/domain/b.py: crm1c.mapping.systems",
        "crm1c/domain/c.py: crm1c.mapping",
    ]
    lists = tmp_path / "crm1c" / "clients" / "bitrix24_lists.py"
    lists.parent.mkdir()
    lists.write_text("from crm1c.clients.bitrix24_batch import X\nfrom crm1c.clients import bitrix24\n")
    assert offences(tmp_path, "crm1c.clients.bitrix24_lists", "crm1c.clients.bitrix24") == [
        "crm1c/clients/bitrix24_lists.py: crm1c.clients.bitrix24"
    ]


def test_importing_every_client_module_loads_neither_airflow_nor_sqlalchemy():
    code = (
        "import importlib, pkgutil, sys\n"
        "import crm1c.clients as pkg\n"
        "names = [m.name for m in pkgutil.walk_packages(pkg.__path__, 'crm1c.clients.')]\n"
        "assert len(names) > 10, names\n"
        "for name in names: importlib.import_module(name)\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'airflow', 'sqlalchemy'})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(PLUGINS)}, timeout=60)


def test_no_contour_imports_and_no_disabled_tls():
    for folder in OURS:
        for path in folder.rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"^\s*(from|import)\s+contour\b", text, re.M), path
            assert not re.search(r"verify\s*=\s*False", text), path
            assert "CERT_NONE" not in text and "check_hostname = False" not in text, path
