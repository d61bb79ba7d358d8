"""Session fixtures: the real Triton server, started once for the whole suite.

If Triton cannot be installed or started, every test that needs it fails loudly (nothing is skipped).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pyotritonclient.server import TritonServer, install

MODELS_DIR = Path(__file__).resolve().parent / "models"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return MODELS_DIR


@pytest.fixture(scope="session")
def triton_installation():
    return install()


@pytest.fixture(scope="session")
def triton(triton_installation):
    server = TritonServer(MODELS_DIR, installation=triton_installation)
    server.start()
    try:
        yield server
    finally:
        server.stop()
