"""What the service's sequence tests share: two callers, the running-sum models, their inputs and outputs (the
service itself is conftest's ``svc``)."""

from __future__ import annotations

import numpy as np

ALICE = {"from": "ws-1/alice"}
BOB = {"from": "ws-2/bob"}
MODEL = "sequence_accumulate"
STRING_MODEL = "sequence_accumulate_str"  # the same with a TYPE_STRING CORRID; it answers the id it saw


def one(value):
    return [np.array([value], np.int32)]


def total(result) -> int:
    return int(np.asarray(result["OUTPUT"]).reshape(-1)[0])


def seen(result) -> str:
    value = np.asarray(result["CORRID_SEEN"]).reshape(-1)[0]
    return value.decode() if isinstance(value, bytes) else str(value)
