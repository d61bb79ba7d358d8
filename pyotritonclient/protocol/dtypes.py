"""THE type table: each Triton datatype's wire name, config name, element size, numpy dtype names (exact, and
what values are handed in and out as: float32 for BF16, which numpy lacks) and struct code. No numpy import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional


@dataclass(frozen=True)
class DType:
    """One Triton datatype: wire name, element size, numpy dtype name and struct code."""

    name: str  # Triton's wire name, e.g. "FP32"
    itemsize: int  # bytes per element; 0 for BYTES (variable length)
    numpy: Optional[str]  # numpy dtype name used for as_numpy; None where numpy has no exact type
    struct: Optional[str]  # struct/array format code (little-endian), None for BYTES/BF16

    @property
    def host(self) -> str:
        """The numpy dtype name values of this type are given and returned as: BF16 travels as the upper 16
        bits of float32s, so its values are float32 arrays; BYTES are object arrays."""
        return self.numpy or "float32"

    @property
    def variable(self) -> bool:
        """True for BYTES, whose elements have no fixed size."""
        return self.itemsize == 0


DTYPES: Dict[str, DType] = {
    d.name: d
    for d in (
        DType("BOOL", 1, "bool", "?"),
        DType("UINT8", 1, "uint8", "B"),
        DType("UINT16", 2, "uint16", "H"),
        DType("UINT32", 4, "uint32", "I"),
        DType("UINT64", 8, "uint64", "Q"),
        DType("INT8", 1, "int8", "b"),
        DType("INT16", 2, "int16", "h"),
        DType("INT32", 4, "int32", "i"),
        DType("INT64", 8, "int64", "q"),
        DType("FP16", 2, "float16", "e"),
        DType("FP32", 4, "float32", "f"),
        DType("FP64", 8, "float64", "d"),
        # numpy has no bfloat16: values travel as the upper 16 bits of float32 (see utils).
        DType("BF16", 2, None, None),
        DType("BYTES", 0, "object", None),
    )
}

# Model configs spell datatypes "TYPE_FP32", "TYPE_STRING"; the wire uses "FP32", "BYTES". THE table both ways.
WIRE_TO_CONFIG: Dict[str, str] = {name: "TYPE_STRING" if name == "BYTES" else "TYPE_" + name for name in DTYPES}
CONFIG_TO_WIRE: Dict[str, str] = {"TYPE_" + name: name for name in DTYPES}  # ("TYPE_BYTES" read too)
CONFIG_TO_WIRE.update({config: wire for wire, config in WIRE_TO_CONFIG.items()})


# numpy's dtype names (an RPC ndarray's ``_rdtype``) <-> wire names, for the types numpy has exactly
NUMPY_TO_WIRE: Dict[str, str] = {d.numpy: d.name for d in DTYPES.values() if d.numpy and d.numpy != "object"}
WIRE_TO_NUMPY: Dict[str, str] = {wire: name for name, wire in NUMPY_TO_WIRE.items()}


def get_dtype(name: str, what: str = "datatype") -> DType:
    """Look up a wire datatype (accepts the config spelling too); ValueError names the choices."""
    key = CONFIG_TO_WIRE.get(name, name)
    try:
        return DTYPES[key]
    except (KeyError, TypeError):
        raise ValueError(f"unknown Triton {what} {name!r}; expected one of {', '.join(DTYPES)}") from None


def wire_to_config(name: str) -> str:
    """'BYTES' -> 'TYPE_STRING', 'FP32' -> 'TYPE_FP32' (config spellings accepted); ValueError names the choices."""
    return WIRE_TO_CONFIG[get_dtype(name).name]


def config_to_wire(name: str) -> str:
    """'TYPE_STRING' -> 'BYTES', 'TYPE_FP32' -> 'FP32' (wire names pass through)."""
    return get_dtype(name).name
