"""The engine's public surface is kept: web/ and processes/ import only ``engine.__all__`` and ``engine.models``.

Every other engine module is private and carries a ``_`` prefix, so a new module is private unless someone decides
otherwise in engine/__init__.py. The checker is a plain function over a directory tree so that it can be shown to
fail on a tree with bad imports (the tests at the bottom), not only to pass on ours.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_MODULES = frozenset({"engine", "engine.models"})
NOT_PRIVATE = frozenset({"__init__.py", "models.py"})


def _modules(package: Path) -> Iterable[Path]:
    return sorted(path for path in package.rglob("*.py") if "__pycache__" not in path.parts)


def _import_problems(path: Path, public: frozenset[str], root: Path) -> list[str]:
    """The imports from ``engine`` in one file that go past the public surface, as ``file:line: reason``."""
    where = path.relative_to(root).as_posix()
    problems = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "engine" and alias.name not in PUBLIC_MODULES:
                    problems.append(f"{where}:{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "engine":
                continue
            if node.module == "engine":
                for alias in node.names:
                    if alias.name not in public:
                        problems.append(
                            f"{where}:{node.lineno}: from engine import {alias.name} (not in engine.__all__)"
                        )
            elif node.module not in PUBLIC_MODULES:
                problems.append(f"{where}:{node.lineno}: from {node.module} import ...")
    return problems


def surface_problems(root: Path, public: Iterable[str]) -> list[str]:
    """Every breach of the engine's public surface under ``root`` (a tree holding engine/, web/ and processes/)."""
    names = frozenset(public)
    problems = []
    for package in ("web", "processes"):
        for path in _modules(root / package):
            problems.extend(_import_problems(path, names, root))
    for path in sorted((root / "engine").glob("*.py")):
        if path.name not in NOT_PRIVATE and not path.name.startswith("_"):
            problems.append(f"engine/{path.name}:1: engine module without the private '_' prefix")
    return problems


def test_web_and_processes_import_only_the_public_engine_surface() -> None:
    problems = surface_problems(ROOT, engine.__all__)
    assert not problems, "imports past the engine's public surface:\n" + "\n".join(problems)


def test_every_name_in_the_surface_exists() -> None:
    missing = [name for name in engine.__all__ if not hasattr(engine, name)]
    assert not missing


def _tree(tmp_path: Path, web_source: str, engine_files: Iterable[str] = ("__init__.py", "models.py", "_x.py")) -> Path:
    for directory in ("engine", "web", "processes"):
        (tmp_path / directory).mkdir()
    for name in engine_files:
        (tmp_path / "engine" / name).write_text("", encoding="utf-8")
    (tmp_path / "web" / "page.py").write_text(web_source, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import engine._x\n", "import engine._x"),
        ("from engine._x import Y\n", "from engine._x import ..."),
        ("from engine import _x\n", "from engine import _x (not in engine.__all__)"),
        ("from engine import Hidden\n", "from engine import Hidden (not in engine.__all__)"),
        ("def f():\n    from engine._x import Y\n", "from engine._x import ..."),
    ],
)
def test_the_checker_names_file_and_line_of_a_bad_import(tmp_path: Path, source: str, reason: str) -> None:
    root = _tree(tmp_path, "from engine import Runtime\nfrom engine.models import Task\n" + source)
    line = 2 + source.count("\n")
    assert surface_problems(root, ["Runtime"]) == [f"web/page.py:{line}: {reason}"]


def test_the_checker_accepts_the_public_surface(tmp_path: Path) -> None:
    root = _tree(
        tmp_path, "import engine\nimport engine.models\nfrom engine import Runtime\nfrom engine.models import T\n"
    )
    assert surface_problems(root, ["Runtime"]) == []


def test_the_checker_finds_a_public_looking_engine_module(tmp_path: Path) -> None:
    root = _tree(tmp_path, "", engine_files=("__init__.py", "models.py", "runtime.py"))
    assert surface_problems(root, []) == ["engine/runtime.py:1: engine module without the private '_' prefix"]
