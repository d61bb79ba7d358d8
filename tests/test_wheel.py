"""The wheel builds, is pure, and works from a fresh virtual environment against the real server."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_builds_and_installs_into_a_fresh_venv(tmp_path, triton):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)],
        check=True,
    )
    (wheel,) = dist.glob("pyotritonclient-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "pyotritonclient/py.typed" in names and "pyotritonclient/protocol/inference.py" in names
    assert not any(n.startswith("tests/") for n in names)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True)
    script = (
        "import asyncio, numpy as np\n"
        "from pyotritonclient.http import InferenceServerClient, InferInput\n"
        "async def main():\n"
        f"    async with InferenceServerClient({triton.url!r}) as c:\n"
        "        x = InferInput('INPUT0', [1, 2, 2], 'FP32').set_data_from_numpy(np.eye(2, dtype=np.float32)[None])\n"
        "        r = await c.infer('identity_fp32', [x])\n"
        "        print(await c.is_server_ready(), r.as_numpy('OUTPUT0').tolist())\n"
        "asyncio.run(main())\n"
        "import importlib.util; print(importlib.util.find_spec('aiohttp') is None)\n"
    )
    out = subprocess.run([str(python), "-c", script], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.split("\n")[:2] == ["True [[[1.0, 0.0], [0.0, 1.0]]]", "True"]  # numpy is all it installed
    env = {**os.environ, "PYOTRITON_TRANSPORT": "aiohttp"}
    chosen = subprocess.run([str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert chosen.returncode == 1 and "pip install 'pyotritonclient[aiohttp]'" in chosen.stderr
