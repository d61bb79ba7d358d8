"""The command line's batches: a folder or glob of inputs, the progress bar in a real terminal, failed items,
Ctrl-C keeping what was done, and --skip-existing finishing the rest (subprocesses against the real Triton)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import List

import numpy as np
from cli_helpers import ANSI, run, run_in_terminal


def _delays(folder: Path, count: int, delay: float) -> List[float]:
    folder.mkdir()
    values = [round(delay + i * 1e-4, 4) for i in range(count)]
    for i, value in enumerate(values):
        np.save(folder / f"item{i:02d}.npy", np.array([value], np.float32))
    return values


def test_batch_progress_bar_advances_in_a_terminal(triton, tmp_path):
    values = _delays(tmp_path / "in", 50, 0.03)
    code, screen = run_in_terminal(
        ["infer", "slow", "-i", f"DELAY={tmp_path / 'in'}", "-o", str(tmp_path / "out"), "-c", "1"], triton.url
    )
    assert code == 0, screen
    frames = ANSI.sub("", screen.replace("\r", "\n"))
    counts = [int(n) for n in re.findall(r"(\d+)/50 ", frames)]
    assert counts == sorted(counts) and counts[-1] == 50
    assert len(set(counts)) >= 5, counts  # the bar was drawn again and again as items finished
    assert re.search(r"\d+\.\d items/s", frames) and "eta" in frames
    assert "━" in screen
    assert re.search(r"slow: 50 in [\d.]+ s \([\d.]+/s\) written to", frames)
    for i, value in enumerate(values):
        assert np.load(tmp_path / "out" / f"item{i:02d}" / "OUTPUT0.npy").tolist() == [np.float32(value)]


def test_batch_piped_prints_lines_and_reports_failed_items(triton, tmp_path):
    _delays(tmp_path / "in", 6, 0.0)
    np.save(tmp_path / "in" / "item03.npy", np.zeros([2, 2], np.float32))  # a wrong shape: refused, the rest go on
    out = run("infer", "slow", "-i", f"DELAY={tmp_path / 'in'}", "-o", str(tmp_path / "out"), url=triton.url)
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 6 and all(re.fullmatch(r"\[\d/6\] item\d\d (ok|failed: .*)", line) for line in lines)
    assert [line for line in lines if "failed" in line][0].endswith(
        "item03 failed: input 'DELAY': expected shape [1] (-1: any size), got [2, 2]"
    )
    assert "1 of 6 failed, first: item03" in out.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["item00", "item01", "item02", "item04", "item05"]


def test_batch_needs_out_and_paired_folders_must_match(triton, tmp_path):
    _delays(tmp_path / "in", 2, 0.0)
    out = run("infer", "slow", "-i", f"DELAY={tmp_path / 'in'}", url=triton.url)
    assert out.returncode == 2 and "needs --out DIR" in out.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    out = run("infer", "slow", "-i", f"DELAY={empty}", "-o", str(tmp_path / "o"), url=triton.url)
    assert out.returncode == 2 and f"the folder {empty} matches no files" in out.stderr
    out = run("infer", "slow", "-i", f"DELAY={tmp_path / 'in'}/*.png", "-o", str(tmp_path / "o"), url=triton.url)
    assert out.returncode == 2 and "matches no files" in out.stderr


def test_ctrl_c_stops_a_batch_and_keeps_what_was_done(triton, tmp_path):
    values = _delays(tmp_path / "in", 50, 0.1)
    out_dir = tmp_path / "out"
    sent = {}

    def interrupt_after_some(screen: str, process: subprocess.Popen) -> None:
        if not sent and re.search(r"\b(8|9|1\d)/50 ", ANSI.sub("", screen)):
            sent["at"] = time.monotonic()
            os.kill(process.pid, signal.SIGINT)

    args = ["infer", "slow", "-i", f"DELAY={tmp_path / 'in'}", "-o", str(out_dir), "-c", "2"]
    code, screen = run_in_terminal(args, triton.url, watch=interrupt_after_some)
    assert sent, screen
    assert code == 130, screen  # and fewer than 50 items done (below): it stopped, it did not run to the end
    match = re.search(r"interrupted: (\d+) of 50 items done and kept in", ANSI.sub("", screen))
    assert match, screen
    kept = sorted(p.name for p in out_dir.iterdir())
    assert len(kept) == int(match.group(1)) and 8 <= len(kept) < 50
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".partial")]
    for name in kept:  # every kept item is whole
        assert np.load(out_dir / name / "OUTPUT0.npy").tolist() == [np.float32(values[int(name[4:])])]
    resumed = run(
        "infer",
        "slow",
        "-i",
        f"DELAY={tmp_path / 'in'}",
        "-o",
        str(out_dir),
        "-c",
        "8",
        "--skip-existing",
        url=triton.url,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"skipping {len(kept)} items already in" in resumed.stderr
    assert len(resumed.stdout.splitlines()) == 50 - len(kept)
    assert len(list(out_dir.iterdir())) == 50


def test_hostile_file_names_never_reach_outside_out(triton, tmp_path):
    """`..npy` (stem '.') and `...npy` (stem '..') once made the CLI rmtree --out or its parent."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("..npy", "...npy"):
        np.save(inputs / name, np.array([0.0], np.float32))
    out = tmp_path / "work" / "out"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("mine")
    (tmp_path / "work" / "keep.txt").write_text("mine too")
    result = run("infer", "slow", "-i", f"DELAY={inputs}/.*.npy", "-o", str(out), url=triton.url)
    assert (out / "keep.txt").read_text() == "mine" and (tmp_path / "work" / "keep.txt").read_text() == "mine too"
    assert result.returncode == 2 and "write to the same output" in result.stderr, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]  # refused before any work


def test_inputs_with_the_same_name_in_different_folders_get_outputs_of_their_own(triton, tmp_path):
    for folder, value in (("x", 0.001), ("y", 0.002), ("z", 0.003)):
        (tmp_path / "in" / folder).mkdir(parents=True)
        np.save(tmp_path / "in" / folder / "a.npy", np.array([value], np.float32))
    result = run("infer", "slow", "-i", f"DELAY={tmp_path / 'in'}/*/a.npy", "-o", str(tmp_path / "out"), url=triton.url)
    assert result.returncode == 0, result.stderr
    for folder, value in (("x", 0.001), ("y", 0.002), ("z", 0.003)):
        assert np.load(tmp_path / "out" / folder / "a" / "OUTPUT0.npy").tolist() == [np.float32(value)]


def test_a_concurrency_below_one_is_refused_by_the_one_rule(triton, tmp_path):
    """infer and bench name the option and say what the library says of any number of calls at once."""
    for args in (
        ["infer", "slow", "-i", f"DELAY={tmp_path}", "-o", str(tmp_path / "out"), "-c", "0"],
        ["bench", "add_sub", "-n", "5", "-c", "0"],
    ):
        out = run(*args, url=triton.url)
        assert out.returncode != 0, out.stdout
        assert "concurrency must be at least 1, got 0" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
