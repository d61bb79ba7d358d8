"""The documentation site: `mkdocs build --strict` passes, and the API reference lists every public name."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_public_api import PUBLIC

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "WARNING" not in out.stderr, out.stderr
    return site_dir


def test_every_page_of_the_nav_is_built(site):
    nav = re.findall(r":\s*([\w-]+)\.md\s*$", (ROOT / "mkdocs.yml").read_text(), re.M)
    assert {
        "quickstart",
        "cli",
        "testing",
        "cors",
        "sequences",
        "performance",
        "migration",
        "troubleshooting",
        "api",
    } <= set(nav)
    for page in nav:
        html = site / ("index.html" if page == "index" else f"{page}/index.html")
        assert html.is_file(), page
    on_disk = {p.stem for p in (ROOT / "docs").glob("*.md")}
    assert on_disk == set(nav), "every docs/*.md is in the nav and the other way round"


def test_the_api_reference_lists_every_public_name(site):
    html = (site / "api" / "index.html").read_text()
    ids = set(re.findall(r'id="(pyotritonclient[\w.]*)"', html))
    missing = []
    for module, names in PUBLIC.items():
        for name in names:
            if module == "pyotritonclient":
                if name == "__version__":
                    continue
                package = importlib.import_module(module)
                lazy = getattr(package, "_LAZY", {})
                home = f"{module}.{lazy[name]}" if name in lazy else getattr(package, name).__module__
                # listed in the top table with a link to where it is documented
                if not re.search(rf'href="#{re.escape(home)}\.{name}"', html):
                    missing.append(f"{module}.{name} (a link to {home}.{name})")
                continue
            value = getattr(importlib.import_module(module), name)
            home = getattr(value, "__module__", None) if callable(value) else None
            # a name a module re-exports lazily (pyotritonclient.http's utils helpers) is documented at home
            if f"{module}.{name}" not in ids and f"{home}.{name}" not in ids:
                missing.append(f"{module}.{name}")
    assert not missing, missing
    for module in PUBLIC:
        assert module in ids, module


def test_api_reference_shows_the_docstrings_and_inherited_endpoints(site):
    html = (site / "api" / "index.html").read_text()
    assert "pyotritonclient.http.InferenceServerClient.get_model_repository_index" in html
    assert "pyotritonclient.http.InferenceServerClient.unload_model" in html
    text = re.sub(r"<[^>]+>", "", html)
    assert "Run the command line with" in text  # cli.main's docstring


def test_the_site_hosts_the_playground_with_its_wheel(site):
    """The ImJoy window plugin opens the playground from the documentation site: the page and the wheel are there."""
    import zipfile

    page = site / "playground"
    assert (page / "index.html").is_file() and (page / "app.js").is_file() and (page / "app.css").is_file()
    with zipfile.ZipFile(page / "pyotritonclient.whl") as wheel:
        names = wheel.namelist()
    assert "pyotritonclient/playground/bridge.py" in names and "pyotritonclient/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n]


def test_the_sites_playground_page_names_its_pyodide(site):
    """The site build decides where the hosted page loads Pyodide from (a link's query never does)."""
    from pyotritonclient.playground.server import DEFAULT_PYODIDE

    page = (site / "playground" / "index.html").read_text()
    assert f'data-pyodide="{DEFAULT_PYODIDE}"' in page and 'data-token=""' in page


def test_every_test_the_threat_model_names_exists():
    """docs/security.md names the test behind each promise (`file.py::test_name`): each one must exist."""
    import ast

    text = (Path(__file__).resolve().parent.parent / "docs" / "security.md").read_text()
    named = set(re.findall(r"(test_\w+\.py)::(test_\w+)", text))
    assert len(named) >= 50, len(named)
    missing = []
    for file_name, test_name in sorted(named):
        tree = ast.parse((Path(__file__).resolve().parent / file_name).read_text())
        functions = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if test_name not in functions:
            missing.append(f"{file_name}::{test_name}")
    assert not missing, missing
