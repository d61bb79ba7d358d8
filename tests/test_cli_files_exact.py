"""Exact answers of what the command line reads and writes (cli/files.py): images of every mode in both
layouts, the summary table's rows, output files and JSON forms. Pure: in the mutation selection."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pyotritonclient.cli import files
from pyotritonclient.errors import InvalidInputError


def _saved(tmp_path, image, name="i.png", **options):
    path = tmp_path / name
    image.save(path, **options)
    return path


def test_images_of_every_mode(tmp_path):
    grey = Image.fromarray(np.array([[0, 128], [255, 7]], np.uint8))
    array = files.load_image(_saved(tmp_path, grey))
    assert array.dtype == np.uint8 and array.tolist() == [[0, 128], [255, 7]]
    assert files.load_image(_saved(tmp_path, grey), "chw").shape == (1, 2, 2)
    deep = Image.fromarray(np.array([[0, 65535], [1000, 2]], np.uint16))
    wide = files.load_image(_saved(tmp_path, deep, "d.png"))
    assert wide.dtype == np.uint16 and wide.tolist() == [[0, 65535], [1000, 2]]
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = [10, 20, 30]
    colour = files.load_image(_saved(tmp_path, Image.fromarray(rgb), "c.png"))
    assert colour.shape == (2, 3, 3) and colour[0, 0].tolist() == [10, 20, 30]
    planes = files.load_image(_saved(tmp_path, Image.fromarray(rgb), "c.png"), "chw")
    assert planes.shape == (3, 2, 3) and planes[:, 0, 0].tolist() == [10, 20, 30] and planes.flags.c_contiguous
    palette = Image.fromarray(rgb).convert("P")
    assert files.load_image(_saved(tmp_path, palette, "p.png")).shape == (2, 3, 3)  # palette -> RGB
    see_through = Image.fromarray(rgb).convert("P")
    see_through.info["transparency"] = 0
    assert files.load_image(_saved(tmp_path, see_through, "t.png", transparency=0)).shape == (2, 3, 4)
    grey_alpha = Image.fromarray(np.zeros((2, 2, 2), np.uint8), "LA")
    assert files.load_image(_saved(tmp_path, grey_alpha, "la.png")).shape == (2, 2, 4)
    cmyk = Image.new("CMYK", (3, 2), (0, 0, 0, 0))
    assert files.load_image(_saved(tmp_path, cmyk, "k.tif")).shape == (2, 3, 3)
    bits = Image.new("1", (3, 2), 1)
    ones = files.load_image(_saved(tmp_path, bits, "b.png"))
    assert ones.shape == (2, 3, 3) and ones.dtype == np.uint8 and int(ones.max()) == 255
    rgba = files.load_image(_saved(tmp_path, Image.new("RGBA", (1, 1), (1, 2, 3, 4)), "a.png"), "chw")
    assert rgba.shape == (4, 1, 1) and rgba[:, 0, 0].tolist() == [1, 2, 3, 4]
    with pytest.raises(InvalidInputError) as refused:
        files.load_image(_saved(tmp_path, grey), "whc")
    assert str(refused.value) == "image layout must be 'hwc' or 'chw', got 'whc'"


def test_summary_rows():
    assert files.summary_row("m", np.array([[1, 5], [-3, 2]], np.int32)) == {
        "output": "m",
        "dtype": "int32",
        "shape": "2x2",
        "min": "-3",
        "max": "5",
        "preview": "",
    }
    assert files.summary_row("f", np.array([np.nan, 0.5, np.inf, -2.25])) == {
        "output": "f",
        "dtype": "float64",
        "shape": "4",
        "min": "-2.25",
        "max": "0.5",
        "preview": "",
    }
    assert files.summary_row("n", np.array([np.nan, np.nan]))["min"] == "nan"
    assert files.summary_row("n", np.array([np.nan]))["max"] == "nan"
    assert files.summary_row("s", np.float32(3.0))["shape"] == "scalar"
    assert files.summary_row("e", np.zeros((0, 2)))[("min")] == "-"
    assert files.summary_row("b", np.array([True, False])) == {
        "output": "b",
        "dtype": "bool",
        "shape": "2",
        "min": "0",
        "max": "1",
        "preview": "",
    }
    big = files.summary_row("g", np.array([1e20, 123456.789]))
    assert (big["min"], big["max"]) == ("123457", "1e+20")
    assert files.summary_row("c", np.array([1 + 2j]))["min"] == "-"
    assert files.summary_row("t", "hello") == {
        "output": "t",
        "dtype": "text",
        "shape": "-",
        "min": "-",
        "max": "-",
        "preview": '"hello"',
    }
    listed = files.summary_row("j", [{"a": 1}, "x" * 80])
    assert listed["dtype"] == "json" and listed["shape"] == "2"
    assert len(listed["preview"]) == 60 and listed["preview"].endswith("…")
    exactly = files.summary_row("k", "y" * 58)  # 60 characters with the quotes: shown whole
    assert exactly["preview"] == '"' + "y" * 58 + '"'
    assert files.summary_row("o", {"k": b"\xff"})["preview"] == '{"k": {"bytes_hex": "ff"}}'


def test_outputs_written_and_json_forms(tmp_path):
    results = {
        "mask": np.arange(4, dtype=np.uint16).reshape(2, 2),
        "info": [{"diameter": 30.0, "raw": b"ok", "bad": float("inf")}],
        ".hidden/name": "text",
        "objects": np.array([b"a", "b"], dtype=object),
    }
    written = files.write_outputs(results, tmp_path / "out")
    assert [p.name for p in written] == ["mask.npy", "info.json", "hidden_name.json", "objects.json"]
    assert np.load(written[0]).tolist() == [[0, 1], [2, 3]]
    assert json.loads(written[1].read_text()) == [{"diameter": 30.0, "raw": "ok", "bad": "inf"}]
    assert written[1].read_text().startswith('[\n {\n  "diameter"')  # indented by one
    assert json.loads(written[2].read_text()) == "text"
    assert json.loads(written[3].read_text()) == ["a", "b"]
    assert not list((tmp_path / "out").glob(".partial-*"))
    assert files.output_file_name("..", np.zeros(1)) == "output.npy"
    assert files.output_file_name("a b", "x") == "a_b.json"
    with pytest.raises(InvalidInputError) as refused:
        files.write_outputs({"A": 1, "a": 2}, tmp_path / "twice")
    assert str(refused.value) == "outputs 'A' and 'a' would be written to the same file 'a.json'"
    assert not (tmp_path / "twice").exists()  # refused before anything was written
    assert files._jsonable((1, float("nan"), -math.inf)) == [1, "nan", "-inf"]


def test_an_item_appears_whole_and_only_inside_out(tmp_path):
    out = tmp_path / "out"
    target = files.write_item({"y": np.ones(2)}, out, "a/b")
    assert target == out / "a" / "b" and sorted(p.name for p in target.iterdir()) == ["y.npy"]
    again = files.write_item({"z": "new"}, out, "a/b")  # replaced whole
    assert sorted(p.name for p in again.iterdir()) == ["z.json"]
    assert not list(out.glob("**/.partial-*"))
    for bad in ("", "a//b", "./a", "a/..", "../x", "a/.hidden"):
        with pytest.raises(InvalidInputError) as refused:
            files.write_item({"y": 1}, out, bad)
        assert str(refused.value) == f"batch item {bad!r}: its outputs must go to a folder inside --out"
    (out / "elsewhere").symlink_to(tmp_path)
    with pytest.raises(InvalidInputError):
        files.write_item({"y": 1}, out, "elsewhere/x")
    (out / "c").mkdir()
    (out / "c" / ".partial-left").write_text("x")
    (out / ".partial-dir").mkdir()
    files.remove_partial(out)
    assert not list(out.glob("**/.partial-*")) and (out / "a" / "b").is_dir()
    files.remove_partial(tmp_path / "missing")  # nothing there: nothing to do


def test_writing_is_whole_or_nothing_even_when_it_fails(tmp_path):
    deep = tmp_path / "a" / "b" / "c"  # parents made
    (written,) = files.write_outputs({"t": "é ü"}, deep)
    assert written.read_text(encoding="utf-8") == '"é ü"'  # UTF-8 as it is, not \\u escapes
    with pytest.raises(TypeError):
        files.write_outputs({"ok": np.ones(1), "bad": object()}, tmp_path / "d")
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["ok.npy"]  # no half-written file left
    item = files.write_item({"y": np.ones(1)}, tmp_path / "x" / "y" / "out", "one")
    assert item.is_dir() and (item / "y.npy").is_file()
    with pytest.raises(TypeError):
        files.write_item({"bad": object()}, tmp_path / "out2", "two/three")
    assert not (tmp_path / "out2" / "two" / "three").exists()
    assert list((tmp_path / "out2" / "two").iterdir()) == []  # the staging folder removed
    files.write_item({"y": 1}, tmp_path / "out2", "two/three")
    with pytest.raises(TypeError):  # an item that exists already stays as it was when the new one fails
        files.write_item({"bad": object()}, tmp_path / "out2", "two/three")
    assert sorted(p.name for p in (tmp_path / "out2" / "two" / "three").iterdir()) == ["y.json"]


def test_leftovers_are_removed_inside_out_only(tmp_path):
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    (out / "a" / ".partial-x").write_text("half")
    (out / ".partial-y").mkdir()
    (out / ".partial-y" / "f").write_text("half")
    outside = tmp_path / "outside"
    (outside / ".partial-keep").mkdir(parents=True)
    (out / "link").symlink_to(outside)
    (out / ".partial-z").symlink_to(outside / ".partial-keep")
    files.remove_partial(out)
    # (a leftover that leads outside --out, through a link, is not ours: it and what it points to stay)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == [".partial-z", "a", "link"]
    assert (outside / ".partial-keep").is_dir()


def test_sixteen_bit_images_in_either_byte_order(tmp_path):
    values = np.array([[1, 258], [65535, 0]], np.uint16)
    for mode in ("I;16", "I;16B"):
        image = Image.frombytes(mode, (2, 2), values.astype(">u2" if mode.endswith("B") else "<u2").tobytes())
        path = tmp_path / f"{mode.replace(';', '')}.tif"
        image.save(path)
        array = files.load_image(path)
        assert array.dtype == np.uint16 and array.tolist() == values.tolist(), mode


class Watcher:
    """An output that, while it is being written (its ``tolist``), records what the folders hold then."""

    dtype = np.dtype(object)

    def __init__(self, *folders):
        self.folders = folders
        self.seen = []

    def tolist(self):
        self.seen = [sorted(p.name for p in folder.iterdir()) for folder in self.folders]
        return [1, 2]


def test_a_file_being_written_is_a_partial_one(tmp_path):
    """Named ``.partial-*`` (what remove_partial cleans after a hard kill), in the folder it is written to."""
    watcher = Watcher(tmp_path)
    written = files.write_outputs({"a": np.zeros(2), "w": watcher}, tmp_path)
    (during,) = watcher.seen
    assert len(during) == 2 and during[0].startswith(".partial-") and during[1] == "a.npy"
    assert [p.name for p in written] == ["a.npy", "w.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "w.json"]  # nothing partial is left


def test_an_item_being_written_is_a_partial_folder_beside_its_target(tmp_path):
    out = tmp_path / "out"
    watcher = Watcher(out / "plates", tmp_path)
    files.write_item({"w": watcher}, out, "plates/p1")
    (plates, outside) = watcher.seen
    assert len(plates) == 1 and plates[0].startswith(".partial-p1-")  # in the item's parent, named for it
    assert outside == ["out"]  # nothing written outside --out
    assert sorted(p.name for p in (out / "plates").iterdir()) == ["p1"]
    assert sorted(p.name for p in (out / "plates" / "p1").iterdir()) == ["w.json"]


def test_specs_split_at_the_first_equals_sign_and_keep_the_value_as_written(tmp_path):
    (spec,) = files.parse_input_specs(["x=a=b"], ["x"])
    assert (spec.name, spec.raw, spec.is_batch) == ("x", "a=b", False)
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "one.npy").write_bytes(b"")
    (spec,) = files.parse_input_specs([f"x={folder}"], ["x"])
    assert (spec.raw, spec.files, spec.root) == (str(folder), (folder / "one.npy",), folder)


def test_a_name_that_is_not_an_input_is_named_as_such(tmp_path):
    with pytest.raises(InvalidInputError) as caught:
        files.parse_input_specs(["Xray=1"], ["a", "b"])
    assert caught.value.message() == "--input 'Xray=1': the model has no input 'Xray'; its inputs are ['a', 'b']"


def test_a_folder_or_pattern_with_no_files_names_the_input(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInputError) as caught:
        files.parse_input_specs([f"x={empty}"], ["x"])
    assert caught.value.message() == f"input 'x': the folder {empty} matches no files"
    with pytest.raises(InvalidInputError) as caught:
        files.parse_input_specs([f"x={empty}/*.npy"], ["x"])
    assert caught.value.message() == f"input 'x': the pattern {str(empty) + '/*.npy'!r} matches no files"


def test_a_pattern_without_a_folder_is_relative_to_the_current_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.npy").write_bytes(b"")
    (spec,) = files.parse_input_specs(["x=*.npy"], ["x"])
    assert spec.root == Path(".") and spec.files == (Path("b.npy"),)
    assert [item.name for item in files.plan_items([spec])] == ["b"]


def test_single_values_are_one_item_with_every_source():
    specs = files.parse_input_specs(["a=1", "b=[2]"], ["a", "b"])
    (item,) = files.plan_items(specs)
    assert (item.name, item.sources) == ("", {"a": "1", "b": "[2]"})


def test_same_stems_in_a_subfolder_keep_their_suffix_and_their_folder(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("x.png", "x.tif"):
        (tmp_path / "a" / name).write_bytes(b"")
    (spec,) = files.parse_input_specs([f"i={tmp_path}/**/*.*"], ["i"])
    assert [item.name for item in files.plan_items([spec])] == ["a/x.png", "a/x.tif"]


def test_item_names_and_safe_parts_exactly():
    assert files.safe_part("Xray") == "Xray" and files.safe_part("..x") == "x" and files.safe_part("") == "_"
    assert files.safe_part("...") == "_" and files.safe_part("a b/c") == "a_b_c"
    assert files.item_name(Path("/data/in/c.png"), None, keep_suffix=False) == "c"
    assert files.item_name(Path("/data/in/c.png"), None, keep_suffix=True) == "c.png"
    assert files.item_name(Path("/x/y.png"), Path("/other"), keep_suffix=False) == "y"  # never above the root
    assert files.item_name(Path("/r/s/t.png"), Path("/r"), keep_suffix=False) == "s/t"


def test_inputs_are_loaded_by_name_in_the_layout_asked(tmp_path):
    image = _saved(tmp_path, Image.fromarray(np.zeros((2, 3, 3), np.uint8)), "i.png")
    item = files.Item("", {"img": str(image), "n": "[1, 2]"})
    loaded = files.load_inputs(item, "chw")
    assert loaded["img"].shape == (3, 2, 3) and loaded["n"] == [1, 2]
    assert files.load_inputs(item)["img"].shape == (2, 3, 3)  # hwc unless asked
    assert files.load_value("img", str(image)).shape == (2, 3, 3)
    assert files.load_value("img", str(image), "chw").shape == (3, 2, 3)


def test_an_object_npy_file_is_refused_naming_the_input(tmp_path):
    path = tmp_path / "o.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InvalidInputError) as caught:
        files.load_value("objects", str(path))
    assert caught.value.message().startswith(f"input 'objects': cannot read {path} as a numeric .npy file (")


def test_output_file_names_and_what_counts_as_an_array():
    assert files.output_file_name("Xout", np.zeros(1)) == "Xout.npy"
    assert files.output_file_name(".hidden", "text") == "hidden.json"

    class NoKind:
        dtype = object()  # a dtype without a kind: not an array

    assert files.output_file_name("v", NoKind()) == "v.json"


def test_an_array_and_a_json_output_of_the_same_name_do_not_collide(tmp_path):
    written = files.write_outputs({"a": np.zeros(1), "A": {"k": 1}}, tmp_path)
    assert [p.name for p in written] == ["a.npy", "A.json"]


def test_an_item_may_be_nested_several_folders_deep(tmp_path):
    target = files.write_item({"v": [1]}, tmp_path / "out", "a/b/c")
    assert target == tmp_path / "out" / "a" / "b" / "c" and (target / "v.json").is_file()


def test_an_item_behind_a_symlink_out_of_out_is_refused_by_name(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "link").symlink_to(elsewhere)
    with pytest.raises(InvalidInputError) as caught:
        files.write_item({"v": [1]}, out, "link/x")
    assert caught.value.message() == "batch item 'link/x': its outputs must go to a folder inside --out"
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("item", ["link/x/y", "link/x/y/z", "a/link2/x"])
def test_no_folder_is_created_outside_out_through_a_symlinked_folder(tmp_path, item):
    """Issue 34, finding 10: the item's parent folders were created before the check that they lie inside
    --out, so ``link/x/y`` made ``elsewhere/x``."""
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    (out / "a").mkdir(parents=True)
    elsewhere.mkdir()
    (out / "link").symlink_to(elsewhere)
    (out / "a" / "link2").symlink_to(elsewhere)
    with pytest.raises(InvalidInputError) as caught:
        files.write_item({"v": [1]}, out, item)
    assert caught.value.message() == f"batch item {item!r}: its outputs must go to a folder inside --out"
    assert list(elsewhere.iterdir()) == []


def test_summary_rows_of_empty_arrays_and_text_exactly():
    assert files.summary_row("e", np.zeros(0, np.float32)) == {
        "output": "e",
        "dtype": "float32",
        "shape": "0",
        "min": "-",
        "max": "-",
        "preview": "",
    }
    assert files.summary_row("t", "héllo")["preview"] == '"héllo"'
    row = files.summary_row("n", np.array([1234567, 1e15], np.float64))
    assert (row["min"], row["max"]) == ("1234567", "1e+15")
    assert files.summary_row("m", np.array([999999999999999.0]))["max"] == "999999999999999"
