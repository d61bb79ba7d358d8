"""The command line, run as users run it: subprocesses against the real Triton, piped and in a real terminal (pty).

What is asserted is what a user sees and gets: printed tables and lines, files read back with numpy, exit codes.
Expected values are computed here (sums, masks), not copied from a run.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import ANSI, CLI, _env, _get, _tsv, run, run_in_terminal

# -- models and config ---------------------------------------------------------------------------------


def test_models_piped_prints_tab_separated_lines_from_the_url_option(triton):
    out = run("--url", triton.url, "models")
    assert out.returncode == 0, out.stderr
    rows = _tsv(out.stdout)
    assert rows[0] == ["name", "state", "versions", "reason"]
    assert ["add_sub", "READY", "1", ""] in rows
    names = [row[0] for row in rows[1:]]
    assert names == sorted(p.name for p in (Path(__file__).parent / "models").iterdir() if p.is_dir())
    assert "\x1b[" not in out.stdout  # no colour when piped


def test_models_json_uses_triton_url_and_matches_the_repository_index(triton):
    out = run("models", "--json", url=triton.url)  # the option after the command works as well
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    request = urllib.request.Request(f"http://{triton.url}/v2/repository/index", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        index = json.loads(response.read())
    assert sorted(m["name"] for m in listed) == sorted(e["name"] for e in index)
    assert {m["name"]: m["state"] for m in listed}["cellpose-python"] == "READY"


def test_models_on_a_terminal_draws_a_table(triton):
    code, screen = run_in_terminal(["models"], triton.url)
    assert code == 0, screen
    assert "┃" in screen and "━" in screen  # rich's table borders
    plain = ANSI.sub("", screen)
    assert re.search(r"│ add_sub\s+│ READY\s+│ 1\s+│", plain), plain
    assert f"models at {triton.url}" in plain


def test_config_table_and_json(triton):
    out = run("config", "cellpose-python", url=triton.url)
    assert out.returncode == 0, out.stderr
    rows = _tsv(out.stdout)
    assert rows[0] == ["kind", "name", "datatype", "shape", "optional"]
    assert ["input", "image", "FP32", "[-1, -1, -1]", ""] in rows
    assert ["input", "param", "BYTES", "[1]", "yes"] in rows
    assert ["output", "mask", "UINT16", "[-1, -1]", ""] in rows
    assert out.stdout.startswith("# cellpose-python: backend python, max_batch_size 0")
    as_json = run("config", "cellpose-python", "--json", url=triton.url)
    assert json.loads(as_json.stdout) == _get(triton.url, "/v2/models/cellpose-python/config")


# -- infer ---------------------------------------------------------------------------------------------


def test_infer_literal_and_npy_inputs_writes_npy_outputs(triton, tmp_path):
    a = np.arange(16, dtype=np.int32) * 3
    np.save(tmp_path / "a.npy", a)
    b = list(range(100, 116))
    out = run(
        "infer",
        "add_sub",
        "-i",
        f"INPUT0={tmp_path / 'a.npy'}",
        "-i",
        f"INPUT1={b}",
        "--out",
        str(tmp_path / "o"),
        url=triton.url,
    )
    assert out.returncode == 0, out.stderr
    total, diff = a + np.array(b, np.int32), a - np.array(b, np.int32)
    assert np.array_equal(np.load(tmp_path / "o" / "OUTPUT0.npy"), total)
    assert np.array_equal(np.load(tmp_path / "o" / "OUTPUT1.npy"), diff)
    rows = _tsv(out.stdout)
    assert rows[0] == ["output", "dtype", "shape", "min", "max", "file"]
    assert rows[1] == [
        "OUTPUT0",
        "int32",
        "16",
        str(total.min()),
        str(total.max()),
        str(tmp_path / "o" / "OUTPUT0.npy"),
    ]
    assert rows[2][:5] == ["OUTPUT1", "int32", "16", str(diff.min()), str(diff.max())]


def test_infer_png_with_json_parameter_writes_mask_and_json(triton, tmp_path):
    from PIL import Image

    image = np.zeros((20, 30, 3), np.uint8)
    image[4:9, 6:20] = (90, 60, 30)  # channel sum 180
    image[12:15, 2:5] = (10, 10, 10)  # channel sum 30: under the threshold
    Image.fromarray(image).save(tmp_path / "cells.png")
    out = run(
        "infer", "cellpose-python", "-i", f"image={tmp_path / 'cells.png'}",
        "-i", 'param={"threshold": 100, "diameter": 17}', "--image-layout", "chw", "--cast",
        "-o", str(tmp_path / "o"), url=triton.url,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    expected = (image.astype(np.float32).sum(axis=2) > 100).astype(np.uint16)
    mask = np.load(tmp_path / "o" / "mask.npy")
    assert mask.dtype == np.uint16 and np.array_equal(mask, expected)
    info = json.loads((tmp_path / "o" / "info.json").read_text())
    assert info == [{"diameter": 17, "shape": [3, 20, 30], "param": {"threshold": 100, "diameter": 17}}]
    rows = {row[0]: row for row in _tsv(out.stdout)}
    assert rows["mask"][:5] == ["mask", "uint16", "20x30", "0", "1"]
    assert rows["info"][1] == "json" and '"diameter": 17' in rows["info"][5]


def test_infer_prints_json_summary_and_reads_json_files(triton, tmp_path):
    (tmp_path / "x.json").write_text(json.dumps([[[1.5, -2.0]]]))
    out = run("infer", "identity_fp32", "-i", f"INPUT0={tmp_path / 'x.json'}", "--json", url=triton.url)
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    assert row == {"output": "OUTPUT0", "dtype": "float32", "shape": "1x1x2", "min": "-2", "max": "1.5", "preview": ""}


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["infer", "no_such_model", "-i", "x=1"], 1, "error: [404] Request for unknown model: 'no_such_model'"),
        (["infer", "add_sub", "-i", "INPUT0=no.npy", "-i", "INPUT1=1"], 2, "error: input 'INPUT0': no such file"),
        (
            ["infer", "add_sub", "-i", "INPUT9=[1]"], 2,
            "error: --input 'INPUT9=[1]': the model has no input 'INPUT9'; its inputs are ['INPUT0', 'INPUT1']",
        ),
        (["infer", "raise_error", "-i", "INPUT0=[1.0]"], 1, "error: [500]"),
        (["bench", "raise_error", "-n", "3", "--warmup", "0"], 1, "error: every request failed (3): [500]"),
    ],
)  # fmt: skip
def test_errors_are_one_line_with_an_exit_code(triton, args, code, message):
    out = run(*args, url=triton.url)
    assert out.returncode == code, (out.stdout, out.stderr)
    assert out.stderr.startswith(message), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_a_wrong_dtype_and_a_bad_file_are_named(triton, tmp_path):
    np.save(tmp_path / "floats.npy", np.zeros(16, np.float32))
    out = run(
        "infer",
        "add_sub",
        "-i",
        f"INPUT0={tmp_path / 'floats.npy'}",
        "-i",
        f"INPUT1={tmp_path / 'floats.npy'}",
        url=triton.url,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == "error: input 'INPUT0': expected dtype INT32 (int32), got a float32 array"
    (tmp_path / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    out = run("infer", "add_sub", "-i", f"INPUT0={tmp_path / 'broken.npy'}", "-i", "INPUT1=[1]", url=triton.url)
    assert out.returncode == 2
    assert out.stderr.startswith(f"error: input 'INPUT0': cannot read {tmp_path / 'broken.npy'}"), out.stderr
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    out = run("infer", "add_sub", "-i", f"INPUT0={tmp_path / 'objects.npy'}", "-i", "INPUT1=[1]", url=triton.url)
    assert out.returncode == 2 and "numeric .npy" in out.stderr  # pickles are not loaded


def test_an_unreachable_server_exits_3_and_verbose_shows_the_traceback(unused_port):
    out = run("--url", f"127.0.0.1:{unused_port}", "models", timeout=30)
    assert out.returncode == 3
    assert out.stderr.startswith(
        f"error: [UNAVAILABLE] cannot connect to http://127.0.0.1:{unused_port}/v2/repository/index"
    )
    verbose = run("--url", f"127.0.0.1:{unused_port}", "-v", "models", timeout=30)
    assert verbose.returncode == 3 and "Traceback (most recent call last)" in verbose.stderr


def test_timeout_and_headers(triton):
    out = run("--timeout", "0.5", "infer", "slow", "-i", "DELAY=[3.0]", url=triton.url)
    # a TIMEOUT (exit 3) can only come from the client's timer: the model answers after 3 s
    assert out.returncode == 3 and out.stderr.startswith("error: [TIMEOUT]"), out.stderr
    verbose = run("models", "--json", "-v", "-H", "X-Api-Key=s3cret", "-H", "X-Trace: 7", url=triton.url)
    assert verbose.returncode == 0
    json.loads(verbose.stdout)  # request lines went to stderr, stdout is still JSON
    assert "POST http://" in verbose.stderr and "'X-Api-Key': '<redacted>'" in verbose.stderr
    assert "s3cret" not in verbose.stderr + verbose.stdout
    bad = run("-H", "no-separator", "models", url=triton.url)
    assert bad.returncode == 2 and "--header" in bad.stderr


# -- bench ---------------------------------------------------------------------------------------------


def test_bench_counts_requests_and_orders_percentiles(triton):
    out = run("bench", "add_sub", "-n", "120", "-c", "4", "--json", url=triton.url)
    assert out.returncode == 0, out.stderr
    numbers = json.loads(out.stdout)
    assert numbers["requests"] == 120 and numbers["errors"] == 0 and numbers["concurrency"] == 4
    assert 0 < numbers["p50_ms"] <= numbers["p90_ms"] <= numbers["p99_ms"] <= numbers["max_ms"]
    assert numbers["throughput"] == pytest.approx(120 / numbers["seconds"], rel=0.02)
    line = run("bench", "cellpose-python", "--shape", "image=3,32,32", "-s", "0.5", url=triton.url)
    assert line.returncode == 0, line.stderr
    assert re.fullmatch(
        r"cellpose-python: \d+ requests in 0\.\d+ s at concurrency 1: [\d.]+ infer/s; latency p50 [\d.]+ ms, "
        r"p90 [\d.]+ ms, p99 [\d.]+ ms \(mean [\d.]+, max [\d.]+\); 0 errors\n",
        line.stdout,
    ), line.stdout


def test_bench_refuses_both_limits_and_bad_shapes(triton):
    both = run("bench", "add_sub", "-n", "5", "-s", "1", url=triton.url)
    assert both.returncode == 2 and "--requests or --seconds, not both" in both.stderr
    shape = run("bench", "add_sub", "--shape", "INPUT0=a,b", url=triton.url)
    assert shape.returncode == 2 and "--shape" in shape.stderr
    unknown = run("bench", "add_sub", "--shape", "NOPE=1", url=triton.url)
    assert unknown.returncode == 2 and "the model has no input 'NOPE'" in unknown.stderr


# -- serve and the entry points ----------------------------------------------------------------------------


def test_serve_starts_triton_prints_its_url_and_stops_on_ctrl_c(tmp_path, triton_installation, models_dir):
    repo = tmp_path / "repo"
    shutil.copytree(models_dir / "add_sub", repo / "add_sub")
    process = subprocess.Popen(  # started as a shell starts a background job: SIGINT ignored
        [*CLI, "serve", str(repo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), (url, process.stderr.read() if process.poll() else "")
        listed = run("--url", url, "models", "--json")
        assert [(m["name"], m["state"]) for m in json.loads(listed.stdout)] == [("add_sub", "READY")]
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        assert "stopping Triton" in process.stderr.read()
        with pytest.raises(OSError):
            urllib.request.urlopen(url + "/v2/health/live", timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_serve_reports_a_broken_model_repository(tmp_path, triton_installation):
    broken = tmp_path / "broken" / "bad_model"
    broken.mkdir(parents=True)
    (broken / "config.pbtxt").write_text(
        'name: "bad_model"\nbackend: "python"\ninput [ { name: "X" data_type: TYPE_NOPE } ]\n'
    )
    out = run("serve", str(tmp_path / "broken"), "--startup-timeout", "60", timeout=120)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Triton did not start: Poll failed for model directory 'bad_model': ")
    assert "failed to read text proto" in last and "CudaDriverHelper" not in last


def test_console_script_and_missing_extra(tmp_path):
    script = Path(sys.executable).parent / "pyotritonclient"
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=30)
    from pyotritonclient import __version__

    assert version.returncode == 0 and version.stdout.strip() == f"pyotritonclient, version {__version__}"
    helped = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30)
    for command in ("models", "config", "infer", "bench", "serve"):
        assert re.search(rf"^\s+{command}\s", helped.stdout, re.M), helped.stdout
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nsys.modules['click'] = None\n")
    out = subprocess.run(
        [*CLI, "models"], capture_output=True, text=True, timeout=30, env=_env(PYTHONPATH=str(tmp_path))
    )
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "pyotritonclient: the command line needs the 'cli' extra (click is missing): pip install 'pyotritonclient[cli]'"
    )


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_password_in_the_url_is_never_printed(triton):
    """Verbose request lines, the models table's title, and an error naming the server."""
    secret = f"http://alice:s3cr3t-pw@{triton.url}"
    shown = run("-v", "models", url=secret)
    assert shown.returncode == 0, shown.stderr
    assert "POST http://***@" in shown.stderr and "models at http://***@" in shown.stdout
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    failed = run("-v", "models", url=f"{secret},http://bob:hunter2@127.0.0.1:{port}")
    # the CLI's own form, without a scheme (issue 34, finding 8: the models title showed the password)
    bare = run("--url", f"alice:s3cr3t-pw@{triton.url}", "-v", "models")
    assert bare.returncode == 0 and "models at " in bare.stdout, bare.stderr
    for out in (shown, failed, bare):
        assert "s3cr3t-pw" not in out.stdout + out.stderr and "hunter2" not in out.stdout + out.stderr
