"""The outside world the real ImJoy runtime fetches from, answered from local files (no machine here reaches it).

Builds a folder tree and a route table for ``run_imjoy.mjs``: imjoy-core's frame and loader, the imjoy-rpc
bundle the frame loads, ImJoy's web-python engine, the Pyodide runtime at the URL the engine names, and a
small PyPI (JSON API + files) holding imjoy-rpc, shortuuid and the wheels given. Nothing is changed in what is
served except
Pyodide's ``repodata.json``, whose micropip/packaging/pyparsing entries are pointed at the PyPI builds of
those wheels (their names and sha256). A package the runtime asks for and that is not here gets a 404,
as the real CDN would give when it is unreachable (numpy and msgpack: no Pyodide build exists offline).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

HERE = Path(__file__).resolve().parent
ENGINE_PYODIDE_URL = "https://cdn.jsdelivr.net/pyodide/v0.20.1a1/full/"  # what WebPythonWorker loads


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wheel_metadata(wheel: Path) -> Dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(name).decode()
    fields = dict(re.findall(r"^(Name|Version|Requires-Python): (.*)$", text, re.M))
    return fields


class OfflineWeb:
    """``prepare()`` lays out ``root`` and returns the path of the route table."""

    def __init__(self, root: Path, imjoy_cache: Path, pyodide_version: str, wheels: Iterable[Path] = ()) -> None:
        self.root = Path(root)
        self.cache = Path(imjoy_cache)
        self.pyodide_version = pyodide_version
        self.wheels = list(wheels)

    def _npm(self, name: str) -> Path:
        path = self.cache / "npm" / name
        if not (path / "package.json").exists():
            raise RuntimeError(f"{path} is missing: run scripts/ensure-imjoy (./dev test does)")
        return path

    def _cached_wheel(self, prefix: str) -> Path:
        found = sorted((self.cache / "wheels").glob(prefix + "-*.whl"))
        if not found:
            raise RuntimeError(f"no {prefix} wheel in {self.cache / 'wheels'}: run scripts/ensure-imjoy")
        return found[-1]

    def _pyodide(self) -> Path:
        """The runtime's files, with repodata.json naming the wheels served beside them."""
        source = self._npm(f"pyodide-{self.pyodide_version}")
        target = self.root / "pyodide"
        target.mkdir(parents=True, exist_ok=True)
        for item in source.iterdir():
            link = target / item.name
            if item.name != "repodata.json" and not link.exists():
                os.symlink(item, link)
        repodata = json.loads((source / "repodata.json").read_text())
        micropip = "micropip-0.1.0" if self.pyodide_version.startswith("0.21") else "micropip-0.2.0"
        for name, prefix in (("micropip", micropip), ("packaging", "packaging-21.3"), ("pyparsing", "pyparsing-3.0.9")):
            wheel = self._cached_wheel(prefix)
            link = target / wheel.name
            if not link.exists():
                os.symlink(wheel, link)
            repodata["packages"][name].update(file_name=wheel.name, sha256=_sha256(wheel))
        (target / "repodata.json").write_text(json.dumps(repodata))
        return target

    def _pypi(self) -> Tuple[Path, Path]:
        """PyPI's JSON API (``/pypi/<name>/json``) and its file host, for the given wheels."""
        api, files = self.root / "pypi", self.root / "files"
        files.mkdir(parents=True, exist_ok=True)
        releases: Dict[str, List[Dict[str, object]]] = {}
        for wheel in [*self.pypi_wheels(), *self.wheels]:
            meta = wheel_metadata(wheel)
            link = files / wheel.name
            if not link.exists():
                os.symlink(wheel, link)
            entry = {
                "filename": wheel.name,
                "url": f"https://files.pythonhosted.org/packages/{wheel.name}",
                "digests": {"sha256": _sha256(wheel)},
                "packagetype": "bdist_wheel",
                "python_version": "py3",
                "requires_python": meta.get("Requires-Python"),
                "yanked": False,
                "size": wheel.stat().st_size,
                "version": meta["Version"],
            }
            releases.setdefault(meta["Name"], []).append(entry)
        for name, entries in releases.items():
            latest = entries[-1]["version"]
            document = {
                "info": {"name": name, "version": latest},
                "releases": {str(e["version"]): [e] for e in entries},
                "urls": [e for e in entries if e["version"] == latest],
            }
            for spelling in {name, name.lower(), name.lower().replace("_", "-"), name.lower().replace("-", "_")}:
                (api / spelling).mkdir(parents=True, exist_ok=True)
                (api / spelling / "json").write_text(json.dumps(document))
        return api, files

    def prepare(self) -> Path:
        core = self._npm("imjoy-core-0.14.5") / "dist"
        rpc = self._npm("imjoy-rpc-0.5.9") / "dist"
        pyodide = self._pyodide()
        api, files = self._pypi()
        routes = {
            "prefixes": [
                ["https://lib.imjoy.io/", str(core)],
                ["https://cdn.jsdelivr.net/npm/imjoy-rpc@0.5.9/dist/", str(rpc)],
                ["https://imjoy-team.github.io/imjoy-core-plugins/", str(HERE / "third_party")],
                [ENGINE_PYODIDE_URL, str(pyodide)],
                ["https://pypi.org/pypi/", str(api)],
                ["https://files.pythonhosted.org/packages/", str(files)],
            ]
        }
        path = self.root / "routes.json"
        path.write_text(json.dumps(routes, indent=1))
        return path

    def pypi_wheels(self) -> List[Path]:
        """The imjoy-rpc wheels the engine installs (imjoy-rpc and its pure dependency shortuuid)."""
        return [self._cached_wheel("imjoy_rpc-0.5.59"), self._cached_wheel("shortuuid-1.0.13")]
