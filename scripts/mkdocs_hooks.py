"""mkdocs hooks: the documentation site also hosts the model playground (the package's static page and this
package as a wheel for Pyodide) under /playground/, where the ImJoy window plugin finds it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def on_post_build(config: Any, **_: Any) -> None:
    """Copy pyotritonclient/playground/static/ and a wheel of the package into site/playground/."""
    from pyotritonclient.playground import STATIC
    from pyotritonclient.playground.server import DEFAULT_PYODIDE, package_wheel, render_page

    target = Path(config["site_dir"]) / "playground"
    shutil.copytree(STATIC, target, dirs_exist_ok=True)
    (target / "index.html").write_text(render_page(DEFAULT_PYODIDE))  # the site decides where Pyodide comes from
    (target / "pyotritonclient.whl").write_bytes(package_wheel())
