"""The playground page and what it loads: the page with its places filled in by whoever hosts it, this package
as a wheel for Pyodide, and the Subresource Integrity and Content-Security-Policy that pin where its scripts
come from. Pure: the server (server.py) and the documentation site's build (scripts/mkdocs_hooks.py) use it."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import zipfile
from pathlib import Path
from typing import Dict, Optional
from urllib.parse import urlsplit

from .. import __version__
from . import STATIC

PACKAGE = Path(__file__).resolve().parent.parent
DEFAULT_PYODIDE = "https://cdn.jsdelivr.net/pyodide/v0.27.7/full/"
# Subresource Integrity of the scripts of the Pyodide the page loads by default (sha384 of the pyodide 0.27.7
# release's files): a CDN that serves other bytes is refused by the browser (tests/test_playground.py routes
# the CDN's URLs to the release's files and to altered ones).
PINNED_INTEGRITY: Dict[str, Dict[str, str]] = {
    DEFAULT_PYODIDE: {
        "pyodide.mjs": "sha384-z8L8kZDaddEtk+VNtmPcXLY83XSVlBjlabpCtT6GghMW3jSyzOEzNsL9BiKsfjcL",
        "pyodide.asm.js": "sha384-J3SxzZJh4tkb2bgoUc72zArF45FJ+ngsbiqNsmxqkkecNVpZ/bUHAM0JMp+YPVpx",
    }
}
PYODIDE_SCRIPTS = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.mjs")  # the module scripts Pyodide loads


def package_wheel() -> bytes:
    """This package (as installed) zipped as a pure-Python wheel that Pyodide can unpack."""
    dist = f"pyotritonclient-{__version__}.dist-info"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path in sorted(PACKAGE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                wheel.write(path, "pyotritonclient/" + path.relative_to(PACKAGE).as_posix())
        wheel.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: pyotritonclient\nVersion: {__version__}\n")
        wheel.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: pyotritonclient playground\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{dist}/RECORD", "")
    return buffer.getvalue()


def integrity_of(folder: Path) -> Dict[str, str]:
    """sha384 Subresource Integrity of the Pyodide scripts in a local distribution (those present)."""
    found = {}
    for name in PYODIDE_SCRIPTS:
        path = folder / name
        if path.is_file():
            found[name] = "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()
    return found


def import_map(pyodide_url: str, integrity: Optional[Dict[str, str]]) -> str:
    """An import map that gives the browser the integrity of Pyodide's scripts ('' when none is known)."""
    if not integrity:
        return ""
    base = pyodide_url if "://" in pyodide_url else "./" + pyodide_url.lstrip("./")
    entries = {base + name: value for name, value in sorted(integrity.items())}
    return json.dumps({"imports": {}, "integrity": entries}, sort_keys=True)


def render_page(
    pyodide_url: str,
    triton: str = "",
    token: str = "",
    model_control: str = "",
    integrity: Optional[Dict[str, str]] = None,
) -> str:
    """The page with where Pyodide, the wheel and Triton are, the run's token and whether model control is
    allowed filled in: the server that hosts the page decides these, never a link's query string. The
    integrity of Pyodide's scripts (pinned for the default CDN version) goes into an import map."""
    fields = {
        "pyodide": pyodide_url,
        "wheel": "pyotritonclient.whl",
        "triton": triton,
        "token": token,
        "model-control": model_control,
    }
    page = (STATIC / "index.html").read_text()
    for name, value in fields.items():
        page = page.replace(f'data-{name}=""', f'data-{name}="{html.escape(value, quote=True)}"')
    pinned = PINNED_INTEGRITY.get(pyodide_url) if integrity is None else integrity
    mapping = import_map(pyodide_url, pinned)
    if mapping:
        page = page.replace("</head>", f'<script type="importmap">{mapping}</script>\n</head>', 1)
    return page


def content_security_policy(pyodide_url: str, inline_script: str = "") -> str:
    """Scripts from this server and the configured Pyodide only (and the page's import map, by its hash); the
    page is never framed by another."""
    parts = urlsplit(pyodide_url)
    pyodide_origin = f" {parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else ""
    if inline_script:
        digest = base64.b64encode(hashlib.sha256(inline_script.encode()).digest()).decode()
        pyodide_origin += f" 'sha256-{digest}'"
    return (
        f"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{pyodide_origin}; connect-src *; "
        "img-src 'self' data: blob:; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


__all__ = [
    "DEFAULT_PYODIDE",
    "PINNED_INTEGRITY",
    "PYODIDE_SCRIPTS",
    "content_security_policy",
    "import_map",
    "integrity_of",
    "package_wheel",
    "render_page",
]
