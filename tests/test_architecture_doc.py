"""docs/architecture.md names every module of the package, and every module it names exists (issue 35). The
tables are read row by row: a file name in a row is a module of one of the row's packages (its ``pkg/`` cells)
or of the top level; a path (``engine/pool.py``) anywhere in the document is a module at that path."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pyotritonclient"
DOC = ROOT / "docs" / "architecture.md"
OUTSIDE = ("tests/", "plugin/", "docs/", "scripts/")  # paths of the repository, not of the package


def modules() -> Set[str]:
    return {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}


def read() -> Tuple[Set[str], List[str]]:
    """(the modules the document names, the names it gives that are no module)."""
    present, text = modules(), DOC.read_text()
    named: Set[str] = set()
    ghosts: List[str] = []
    for path in re.findall(r"`((?:[a-z_]+/)+[a-z_0-9]+\.py)`", text):
        if path.startswith(OUTSIDE):
            continue
        (named.add(path) if path in present else ghosts.append(path))
    for line in text.splitlines():
        if not line.startswith("| "):
            continue
        folders = {part for p in re.findall(r"`([a-z_]+(?:/[a-z_]+)*)/`", line) for part in p.split("/")}
        for name in re.findall(r"`([a-z_0-9]+\.py)`", line):
            homes = [m for m in present if m.split("/")[-1] == name and set(m.split("/")[:-1]) <= folders]
            named.update(homes)
            if not homes:
                ghosts.append(f"{name} (in the row of {', '.join(sorted(folders)) or 'the top level'})")
    return named, ghosts


def test_every_module_is_named_in_docs_architecture():
    named, _ = read()
    missing = sorted(m for m in modules() if m not in named and not m.endswith("__init__.py"))
    assert not missing, f"modules docs/architecture.md does not name: {missing}"


def test_every_module_docs_architecture_names_exists():
    _, ghosts = read()
    assert not ghosts, f"docs/architecture.md names modules that do not exist: {ghosts}"
