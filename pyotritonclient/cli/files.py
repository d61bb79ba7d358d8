"""What the command line reads and writes: ``NAME=VALUE`` inputs (files, folders, globs, literals) and outputs.

    specs = parse_input_specs(["image=cells/", "param={\"diameter\": 30}"], input_names=["image", "param"])
    plan = plan_items(specs)            # one Item per file of a folder/glob input, or a single item
    inputs = load_inputs(plan[0])       # {"image": array, "param": {...}}
    write_outputs(results, out_dir)     # one .npy per array output, one .json per decoded JSON/strings

Errors are ``InvalidInputError`` naming the input and what was expected. Images need Pillow (the ``cli`` extra).
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import InvalidInputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")
ARRAY_SUFFIXES = (".npy",)
JSON_SUFFIXES = (".json",)
TEXT_SUFFIXES = (".txt",)
KNOWN_SUFFIXES = IMAGE_SUFFIXES + ARRAY_SUFFIXES + JSON_SUFFIXES + TEXT_SUFFIXES
GLOB_CHARS = "*?["


@dataclass(frozen=True)
class InputSpec:
    """One ``--input``: the model input's name and either one value source or the files of a batch."""

    name: str
    raw: str
    files: Optional[Tuple[Path, ...]] = None  # a folder or glob: one file per batch item
    root: Optional[Path] = None  # the folder, or the glob's folder before its first wildcard: names are relative

    @property
    def is_batch(self) -> bool:
        """True when the value is a folder or a glob (one request per file)."""
        return self.files is not None


@dataclass
class Item:
    """One request's worth of inputs: ``name`` (the file stem for a batch item) and a source per input."""

    name: str
    sources: Dict[str, str] = field(default_factory=dict)


def parse_input_specs(values: Sequence[str], input_names: Sequence[str]) -> List[InputSpec]:
    """``NAME=VALUE`` strings -> InputSpecs; a bare ``VALUE`` is allowed when the model has one input."""
    specs: List[InputSpec] = []
    seen = set()
    for value in values:
        name, sep, raw = value.partition("=")
        if not sep or name not in input_names and _looks_like_value(name):
            if len(input_names) != 1:
                raise InvalidInputError(
                    f"--input {value!r}: write NAME=VALUE; the model's inputs are {list(input_names)}"
                )
            name, raw = input_names[0], value
        if name not in input_names:
            raise InvalidInputError(
                f"--input {value!r}: the model has no input {name!r}; its inputs are {list(input_names)}"
            )
        if name in seen:
            raise InvalidInputError(f"--input {name!r} is given twice")
        seen.add(name)
        found = _batch_files(name, raw)
        specs.append(InputSpec(name, raw, found[0], found[1]) if found else InputSpec(name, raw))
    return specs


def _looks_like_value(text: str) -> bool:
    """A bare value that happens to hold '=' (a path or literal) rather than NAME=..."""
    return not text or any(ch in text for ch in '/.[{" ') or text[0].isdigit()


def _batch_files(name: str, raw: str) -> Optional[Tuple[Tuple[Path, ...], Path]]:
    """The files of a folder or glob, and the folder their item names are relative to."""
    path = Path(raw).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        where, root = f"folder {raw}", path
    elif any(ch in raw for ch in GLOB_CHARS) and not path.is_file() and not _is_literal(raw):
        pattern = os.path.expanduser(raw)
        files = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        where = f"pattern {raw!r}"
        fixed = []
        for part in Path(pattern).parts[:-1]:
            if any(ch in part for ch in GLOB_CHARS):
                break
            fixed.append(part)
        root = Path(*fixed) if fixed else Path(".")
    else:
        return None
    if not files:
        raise InvalidInputError(f"input {name!r}: the {where} matches no files")
    return tuple(files), root


def _is_literal(raw: str) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def plan_items(specs: Sequence[InputSpec]) -> List[Item]:
    """One Item per batch file (batch inputs are paired in sorted order), or one Item for single values."""
    batch = [spec for spec in specs if spec.is_batch]
    fixed = {spec.name: spec.raw for spec in specs if not spec.is_batch}
    if not batch:
        return [Item("", dict(fixed))]
    count = len(batch[0].files or ())
    for spec in batch[1:]:
        if len(spec.files or ()) != count:
            raise InvalidInputError(
                f"batch inputs differ in length: {batch[0].name!r} has {count} files, "
                f"{spec.name!r} has {len(spec.files or ())}"
            )
    items = []
    firsts = list(batch[0].files or ())
    short = [item_name(path, batch[0].root, keep_suffix=False) for path in firsts]
    wanted = [
        name if short.count(name) == 1 else item_name(path, batch[0].root, keep_suffix=True)  # a.png and a.tif
        for name, path in zip(short, firsts)
    ]
    taken: Dict[str, Path] = {}
    for name, path in zip(wanted, firsts):
        if name.lower() in taken:  # refused before any work: no input overwrites another's outputs
            raise InvalidInputError(
                f"inputs {str(taken[name.lower()])!r} and {str(path)!r} would write to the same output "
                f"folder {name!r}: rename one of them"
            )
        taken[name.lower()] = path
    for index, name in enumerate(wanted):
        sources = dict(fixed)
        for spec in batch:
            sources[spec.name] = str((spec.files or ())[index])
        items.append(Item(name, sources))
    return items


def safe_part(text: str) -> str:
    """One path segment made safe as a file name: letters, digits, '-', '_' and '.', never leading with '.'
    (no '.', '..' or hidden names), '_' when nothing is left."""
    return re.sub(r"[^\w.-]", "_", text).lstrip(".") or "_"


def item_name(path: Path, root: Optional[Path], keep_suffix: bool) -> str:
    """A batch item's output folder under --out: the input's path relative to the batch's root (its folder,
    or the glob's folder), each part made safe; the file's suffix dropped unless ``keep_suffix``."""
    try:
        relative = Path(os.path.relpath(path, root)) if root is not None else Path(path.name)
    except ValueError:
        relative = Path(path.name)
    if relative.parts and relative.parts[0] == "..":
        relative = Path(path.name)
    last = relative.name if keep_suffix or relative.name.startswith(".") else (relative.stem or relative.name)
    parts = [*relative.parts[:-1], last]
    return "/".join(safe_part(part) for part in parts)


def load_inputs(item: Item, image_layout: str = "hwc") -> Dict[str, Any]:
    """The item's values: files read by their suffix, other values parsed as JSON or taken as text."""
    return {name: load_value(name, raw, image_layout) for name, raw in item.sources.items()}


def load_value(name: str, raw: str, image_layout: str = "hwc") -> Any:
    """One input value: ``.npy`` -> array, ``.json`` -> JSON, images -> uint8/uint16 arrays, ``.txt`` -> text,
    another existing file -> its bytes; otherwise a JSON literal (``[1, 2]``, ``3``, ``{...}``) or plain text."""
    path = Path(raw).expanduser()
    suffix = path.suffix.lower()
    if path.is_file():
        try:
            if suffix in ARRAY_SUFFIXES:
                return _load_npy(name, path)
            if suffix in JSON_SUFFIXES:
                return json.loads(path.read_text(encoding="utf-8"))
            if suffix in IMAGE_SUFFIXES:
                return load_image(path, image_layout)
            if suffix in TEXT_SUFFIXES:
                return path.read_text(encoding="utf-8")
            return path.read_bytes()
        except InvalidInputError:
            raise
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"input {name!r}: cannot read {raw} ({exc})") from None
    if suffix in KNOWN_SUFFIXES or os.sep in raw and not _is_literal(raw):
        raise InvalidInputError(f"input {name!r}: no such file {raw}")
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _load_npy(name: str, path: Path) -> Any:
    import numpy as np

    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:  # object arrays need pickle: refused, a file is not code to run
        raise InvalidInputError(f"input {name!r}: cannot read {path} as a numeric .npy file ({exc})") from None


def load_image(path: Path, layout: str = "hwc") -> Any:
    """An image as a numpy array: (H, W) or (H, W, C) for ``hwc``; (C, H, W), grey as (1, H, W), for ``chw``."""
    import numpy as np

    try:
        from PIL import Image
    except ImportError:
        raise InvalidInputError(
            f"reading {path.name} needs Pillow: pip install 'pyotritonclient[cli]' (or pillow)"
        ) from None
    with Image.open(path) as image:
        image.load()
        if image.mode in ("I;16", "I;16B", "I;16L"):
            array = np.asarray(image, dtype=np.uint16)
        elif image.mode in ("P", "PA", "LA", "CMYK", "YCbCr", "1"):
            array = np.asarray(image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB"))
        else:
            array = np.asarray(image)
    if layout == "chw":
        array = array[np.newaxis] if array.ndim == 2 else np.moveaxis(array, -1, 0)
    elif layout != "hwc":
        raise InvalidInputError(f"image layout must be 'hwc' or 'chw', got {layout!r}")
    return np.ascontiguousarray(array)


# -- outputs --------------------------------------------------------------------------------------


def output_file_name(name: str, value: Any) -> str:
    """``NAME.npy`` for arrays, ``NAME.json`` for decoded JSON/strings (output names made safe as file names)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).lstrip(".") or "output"
    return safe + (".npy" if _is_array(value) else ".json")


def _is_array(value: Any) -> bool:
    return hasattr(value, "dtype") and getattr(value.dtype, "kind", "O") != "O"


def write_outputs(results: Mapping[str, Any], directory: Path) -> List[Path]:
    """Write each output into ``directory`` (created); every file appears whole or not at all. Output names
    that become the same file name once made safe are refused before anything is written."""
    import numpy as np

    named: Dict[str, str] = {}
    for name, value in results.items():
        file_name = output_file_name(name, value).lower()
        if file_name in named:
            raise InvalidInputError(
                f"outputs {named[file_name]!r} and {name!r} would be written to the same file {file_name!r}"
            )
        named[file_name] = name
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, value in results.items():
        target = directory / output_file_name(name, value)
        fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                if _is_array(value):
                    np.save(handle, value, allow_pickle=False)
                else:
                    handle.write(json.dumps(_jsonable(value), ensure_ascii=False, indent=1).encode("utf-8"))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written


def write_item(results: Mapping[str, Any], out_dir: Path, item_name: str) -> Path:
    """A batch item's outputs into ``out_dir/item_name/``, which appears only once every file is written.
    ``item_name`` must name a folder strictly inside ``out_dir``: nothing outside it is written or removed."""
    parts = item_name.split("/")
    if not item_name or any(part in ("", ".", "..") or part != safe_part(part) for part in parts):
        raise InvalidInputError(f"batch item {item_name!r}: its outputs must go to a folder inside --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / item_name
    folder = out_dir
    for part in parts[:-1]:  # each folder checked before anything is made in it: a symlink may point elsewhere
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise InvalidInputError(f"batch item {item_name!r}: its outputs must go to a folder inside --out")
        folder.mkdir(exist_ok=True)
    if target.is_symlink():
        raise InvalidInputError(f"batch item {item_name!r}: its outputs must go to a folder inside --out")
    staging = Path(tempfile.mkdtemp(prefix=f".partial-{parts[-1]}-", dir=target.parent))
    try:
        write_outputs(results, staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def remove_partial(out_dir: Path) -> None:
    """Remove what an interrupted run left half-written (``.partial-*``, in item folders too; never outside)."""
    root = out_dir.resolve()
    for leftover in out_dir.glob("**/.partial-*") if out_dir.is_dir() else ():
        if root not in leftover.resolve().parents:
            continue
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"bytes_hex": value.hex()}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def summary_row(name: str, value: Any) -> Dict[str, str]:
    """One output's line of the summary table: output, dtype, shape, min, max, and a preview of JSON/text."""
    if _is_array(value):
        import numpy as np

        row = {"output": name, "dtype": str(value.dtype), "shape": "x".join(map(str, value.shape)) or "scalar"}
        if value.size and value.dtype.kind in "biuf":
            finite = value[np.isfinite(value)] if value.dtype.kind == "f" else value
            row["min"] = _number(finite.min()) if finite.size else "nan"
            row["max"] = _number(finite.max()) if finite.size else "nan"
        else:
            row["min"] = row["max"] = "-"
        row["preview"] = ""
        return row
    text = json.dumps(_jsonable(value), ensure_ascii=False)
    kind = "json" if not isinstance(value, str) else "text"
    shape = str(len(value)) if isinstance(value, (list, tuple)) else "-"
    return {"output": name, "dtype": kind, "shape": shape, "min": "-", "max": "-", "preview": _preview(text)}


def _number(value: Any) -> str:
    as_float = float(value)
    return str(int(as_float)) if as_float.is_integer() and abs(as_float) < 1e15 else f"{as_float:.6g}"


def _preview(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
