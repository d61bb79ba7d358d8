"""The command line's pure parts, in-process: input specs, batch plans, file loading and writing, percentiles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pyotritonclient.cli import files
from pyotritonclient.cli.bench import BenchResult, percentile, synthetic_inputs
from pyotritonclient.errors import InvalidInputError


def test_specs_name_values_and_a_bare_value_for_a_single_input(tmp_path):
    (specs,) = [files.parse_input_specs(["x=[1, 2]"], ["x", "y"])]
    assert specs[0].name == "x" and specs[0].raw == "[1, 2]" and not specs[0].is_batch
    (bare,) = files.parse_input_specs(["d/a=b.npy"], ["image"])  # not NAME=: the whole text is the value
    assert bare.name == "image" and bare.raw == "d/a=b.npy"
    (bare,) = files.parse_input_specs(["[1, 2]"], ["image"])
    assert bare.name == "image" and bare.raw == "[1, 2]"
    with pytest.raises(InvalidInputError, match=r"--input '\[1\]': write NAME=VALUE; the model's inputs are"):
        files.parse_input_specs(["[1]"], ["x", "y"])
    with pytest.raises(InvalidInputError, match="'x' is given twice"):
        files.parse_input_specs(["x=1", "x=2"], ["x", "y"])
    with pytest.raises(InvalidInputError, match="has no input 'z'"):
        files.parse_input_specs(["z=1"], ["x", "y"])


def test_folders_and_globs_become_batches_paired_in_sorted_order(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        for i in (2, 0, 1):
            (tmp_path / folder / f"{folder}{i}.npy").write_bytes(b"")
    (tmp_path / "a" / ".hidden").write_bytes(b"")
    specs = files.parse_input_specs([f"x={tmp_path / 'a'}", f"y={tmp_path / 'b'}/*.npy", "z=3"], ["x", "y", "z"])
    items = files.plan_items(specs)
    assert [item.name for item in items] == ["a0", "a1", "a2"]
    assert items[1].sources == {"z": "3", "x": str(tmp_path / "a" / "a1.npy"), "y": str(tmp_path / "b" / "b1.npy")}
    (tmp_path / "b" / "b3.npy").write_bytes(b"")
    specs = files.parse_input_specs([f"x={tmp_path / 'a'}", f"y={tmp_path / 'b'}"], ["x", "y"])
    with pytest.raises(InvalidInputError, match="'x' has 3 files, 'y' has 4"):
        files.plan_items(specs)
    assert files.plan_items(files.parse_input_specs(["x=[1]"], ["x"]))[0].name == ""


def test_values_by_kind(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(3, dtype=np.int16))
    (tmp_path / "a.json").write_text('{"k": [1, 2]}')
    (tmp_path / "a.txt").write_text("héllo")
    (tmp_path / "a.bin").write_bytes(b"\x00\x01")
    loaded = files.load_value("x", str(tmp_path / "a.npy"))
    assert loaded.dtype == np.int16 and loaded.tolist() == [0, 1, 2]
    assert files.load_value("x", str(tmp_path / "a.json")) == {"k": [1, 2]}
    assert files.load_value("x", str(tmp_path / "a.txt")) == "héllo"
    assert files.load_value("x", str(tmp_path / "a.bin")) == b"\x00\x01"
    assert files.load_value("x", "[[1, 2]]") == [[1, 2]]
    assert files.load_value("x", "2.5") == 2.5
    assert files.load_value("x", "plain words") == "plain words"
    with pytest.raises(InvalidInputError, match="input 'x': no such file missing.png"):
        files.load_value("x", "missing.png")
    with pytest.raises(InvalidInputError, match="input 'x': no such file dir/none"):
        files.load_value("x", "dir/none")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InvalidInputError, match="input 'x': cannot read .*bad.json"):
        files.load_value("x", str(tmp_path / "bad.json"))


def test_images_in_both_layouts(tmp_path):
    from PIL import Image

    rgb = np.random.default_rng(1).integers(0, 255, (4, 5, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    grey16 = np.arange(20, dtype=np.uint16).reshape(4, 5) * 3000
    Image.fromarray(grey16).save(tmp_path / "grey16.png")
    assert np.array_equal(files.load_image(tmp_path / "rgb.png"), rgb)
    chw = files.load_image(tmp_path / "rgb.png", "chw")
    assert chw.shape == (3, 4, 5) and np.array_equal(chw[1], rgb[:, :, 1]) and chw.flags.c_contiguous
    grey = files.load_image(tmp_path / "grey16.png", "chw")
    assert grey.dtype == np.uint16 and grey.shape == (1, 4, 5) and np.array_equal(grey[0], grey16)
    with pytest.raises(InvalidInputError, match="layout must be"):
        files.load_image(tmp_path / "rgb.png", "cwh")
    (tmp_path / "fake.png").write_bytes(b"not a png")
    with pytest.raises(InvalidInputError, match="input 'im': cannot read .*fake.png"):
        files.load_value("im", str(tmp_path / "fake.png"))


def test_outputs_are_written_whole_and_named_safely(tmp_path):
    results = {"mask": np.ones((2, 2), np.uint16), "info": [{"a": b"x", "nan": float("nan")}], "../up": "text"}
    written = files.write_outputs(results, tmp_path / "o")
    assert [p.name for p in written] == ["mask.npy", "info.json", "_up.json"]
    assert np.load(written[0]).dtype == np.uint16
    assert json.loads(written[1].read_text()) == [{"a": "x", "nan": "nan"}]
    assert not list((tmp_path / "o").glob(".partial*")) and not (tmp_path / "up.json").exists()
    files.write_item(results, tmp_path / "batch", "img1")
    files.write_item({"mask": np.zeros(1)}, tmp_path / "batch", "img1")  # a rerun replaces the item
    assert sorted(p.name for p in (tmp_path / "batch" / "img1").iterdir()) == ["mask.npy"]
    (tmp_path / "batch" / ".partial-img2-x").mkdir()
    files.remove_partial(tmp_path / "batch")
    assert [p.name for p in (tmp_path / "batch").iterdir()] == ["img1"]


def test_summary_rows():
    assert files.summary_row("o", np.array([[1.5, np.nan, -2.0]], np.float32)) == {
        "output": "o", "dtype": "float32", "shape": "1x3", "min": "-2", "max": "1.5", "preview": ""
    }  # fmt: skip
    assert files.summary_row("e", np.zeros((0, 3), np.int8))["min"] == "-"
    row = files.summary_row("info", [{"text": "x" * 100}])
    assert row["dtype"] == "json" and row["shape"] == "1" and len(row["preview"]) == 60


def test_percentile_matches_numpy():
    values = sorted(np.random.default_rng(2).exponential(3.0, 101).tolist())
    for q in (0, 50, 90, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([4.0], 99) == 4.0
    with pytest.raises(ValueError):
        percentile(values, 101)
    result = BenchResult("m", 2, 2.0, [1.0, 3.0, 2.0])
    numbers = result.as_dict()
    assert numbers["requests"] == 3 and numbers["throughput"] == 1.5 and numbers["p50_ms"] == 2.0
    assert BenchResult("m", 1, 1.0).as_dict()["p99_ms"] is None


def test_synthetic_inputs_follow_the_config():
    config = {
        "max_batch_size": 8,
        "input": [
            {"name": "img", "data_type": "TYPE_FP32", "dims": [3, -1]},
            {"name": "txt", "data_type": "TYPE_STRING", "dims": [1]},
            {"name": "opt", "data_type": "TYPE_INT8", "dims": [1], "optional": True},
        ],
    }
    values = synthetic_inputs(config, batch_size=2)
    assert values["img"].shape == (2, 3, 1) and values["img"].dtype == np.float32
    assert values["txt"].tolist() == [[b"0"], [b"0"]] and "opt" not in values
    shaped = synthetic_inputs(config, {"img": [1, 3, 7], "opt": [1, 1]})
    assert shaped["img"].shape == (1, 3, 7) and shaped["opt"].dtype == np.int8
    with pytest.raises(InvalidInputError, match="no input 'x'"):
        synthetic_inputs(config, {"x": [1]})


def test_item_names_are_safe_relative_paths_and_collisions_are_refused(tmp_path):
    for name in ("..npy", "...npy", "a.npy", "a.png", "b c.npy"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.npy").write_bytes(b"")
    files_of = lambda pattern: files.plan_items(files.parse_input_specs([f"x={tmp_path}/{pattern}"], ["x"]))  # noqa: E731
    assert [i.name for i in files_of("[ab]*")] == ["a.npy", "a.png", "b_c"]  # a.npy/a.png keep their suffixes
    assert [i.name for i in files_of("**/a.npy")] == ["a", "sub/a"]
    with pytest.raises(InvalidInputError, match=r"\.\.npy. and .*\.\.npy. would write to the same output"):
        files_of(".*npy")
    for name in ("..npy", "...npy"):
        (item,) = files.plan_items([files.InputSpec("x", "", (tmp_path / name,), tmp_path)])
        assert item.name not in ("", ".", "..") and "/" not in item.name and not item.name.startswith(".")


def test_writing_an_item_never_leaves_out_dir(tmp_path):
    out = tmp_path / "out"
    (tmp_path / "keep").write_text("mine")
    for name in ("", ".", "..", "../keep", "/etc", "a/../../keep"):
        with pytest.raises(InvalidInputError, match="inside --out"):
            files.write_item({"y": np.zeros(1)}, out, name)
    assert (tmp_path / "keep").read_text() == "mine"
    assert files.write_item({"y": np.zeros(1)}, out, "sub/a") == out / "sub" / "a"


def test_output_names_that_collide_once_made_safe_are_refused_before_writing(tmp_path):
    with pytest.raises(InvalidInputError, match="'mask/a' and 'mask_a'"):
        files.write_outputs({"mask/a": np.zeros(1), "mask_a": np.ones(1)}, tmp_path / "o")
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())
