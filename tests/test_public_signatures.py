"""Every public function, class and method keeps its signature (tests/data/public_signatures.json, the release
before the modules moved into their layers), old import paths included, except the compatible changes listed
here with their reason."""

from __future__ import annotations

import sys
from pathlib import Path

from test_public_api import MOVED, PUBLIC

ROOT = Path(__file__).resolve().parent.parent


# Signatures that changed on purpose since tests/data/public_signatures.json (written by
# scripts/public_signatures.py from de1b409, before the layers move), each a compatible extension.
CHANGED_SIGNATURES = {
    "pyotritonclient.Session.execute": "(..., server=None): a pool's pinning, so a session is an Executor",
    "pyotritonclient.session.Session.execute": "the same",
    "pyotritonclient.session_for": "returns an Executor (the protocol Session and ServerPool both satisfy)",
    "pyotritonclient.session.session_for": "the same",
    "pyotritonclient.testing.TritonServer": "(..., model_control=False, restricted_apis=None): safe from web pages by "
    "default, load/unload only when asked for (issue 34; docs/security.md)",
    "pyotritonclient.testing.TritonServer.__init__": "the same",
    "pyotritonclient.testing.server.TritonServer": "the same",
    "pyotritonclient.testing.server.TritonServer.__init__": "the same",
    # issue 35: one Deadline from the API to the socket; each change only widens what is accepted
    "pyotritonclient.ExecuteOptions": "timeout: seconds or the call's Deadline (used as it is)",
    "pyotritonclient.ExecuteOptions.__init__": "the same",
    "pyotritonclient.options.ExecuteOptions": "the same",
    "pyotritonclient.options.ExecuteOptions.__init__": "the same",
    "pyotritonclient.http.InferenceServerClient.infer": "client_timeout: seconds or a caller's Deadline; inputs: "
    "InferInput or the protocol's TensorData (what values/ makes)",
    "pyotritonclient.http.InferenceServerClient.async_infer": "the same",
    "pyotritonclient.http.aio.InferenceServerClient.infer": "the same",
    "pyotritonclient.http.aio.InferenceServerClient.async_infer": "the same",
    "pyotritonclient.http.InferenceServerClient.generate_request_body": "inputs: also the protocol's TensorData",
    "pyotritonclient.http.aio.InferenceServerClient.generate_request_body": "the same",
    "pyotritonclient.service.TritonService.execute": "deadline=None: call() makes it",
    "pyotritonclient.service.TritonService.get_config": "deadline=None: call() makes it",
    "pyotritonclient.service.TritonService.list_models": "deadline=None: call() makes it",
    "pyotritonclient.service.TritonService.sequence_end": "deadline=None: call() makes it",
    "pyotritonclient.service.TritonService.sequence_start": "deadline=None: call() makes it",
    "pyotritonclient.service.TritonService.sequence_step": "deadline=None: call() makes it",
    # issue 36: streams to RPC callers
    "pyotritonclient.service.ServiceConfig": "(..., max_streams_per_caller, max_streams, stream_max_events, "
    "stream_max_bytes, stream_idle_timeout, stream_timeout, max_events_per_second): the stream limits, with defaults",
    "pyotritonclient.service.ServiceConfig.__init__": "the same",
}


def test_public_signatures_are_unchanged():
    """Every public function, class and method the release before the move had, with the same signature (old
    import paths included), except the compatible changes listed above."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from public_signatures import signatures
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    import json

    before = json.loads((ROOT / "tests" / "data" / "public_signatures.json").read_text())
    modules = sorted({name.rsplit(".", 1)[0] for name in before if name.count(".") >= 1} & set(PUBLIC) | set(MOVED))
    now = signatures([m for m in modules if m != "pyotritonclient.server"])
    changed = {
        name: (old, now.get(name))
        for name, old in before.items()
        if now.get(name) != old and name not in CHANGED_SIGNATURES and not name.startswith("pyotritonclient.server.")
    }
    assert not changed, changed
