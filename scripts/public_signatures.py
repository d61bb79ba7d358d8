"""Print the signature of every public function, class and public method of the given modules, as JSON.

    python scripts/public_signatures.py pyotritonclient pyotritonclient.http ... > tests/data/public_signatures.json

tests/test_public_api.py compares today's signatures with the file (written from the release before the
modules moved into their layer packages), so a changed signature is a decision, not an accident."""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from typing import Any, Dict


def signature_of(value: Any) -> str:
    try:
        return str(inspect.signature(value))
    except (TypeError, ValueError):
        return "<no signature>"


def signatures(modules: list) -> Dict[str, str]:
    found: Dict[str, str] = {}
    for name in modules:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            value = getattr(module, attr)
            if inspect.isfunction(value) or inspect.isclass(value):
                found[f"{name}.{attr}"] = signature_of(value)
            if inspect.isclass(value):
                for member, function in sorted(vars(value).items()):
                    if member.startswith("_") and member != "__init__":
                        continue
                    if isinstance(function, (staticmethod, classmethod)):
                        function = function.__func__
                    if inspect.isfunction(function):
                        found[f"{name}.{attr}.{member}"] = signature_of(function)
    return found


if __name__ == "__main__":
    print(json.dumps(signatures(sys.argv[1:]), indent=1, sort_keys=True))
