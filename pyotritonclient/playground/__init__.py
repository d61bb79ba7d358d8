"""The model playground: a static page (``static/``) that runs this package in Pyodide, and the server of
``pyotritonclient playground`` (``server.py``). ``bridge.py`` is what the page calls inside Pyodide."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"

__all__ = ["STATIC"]
