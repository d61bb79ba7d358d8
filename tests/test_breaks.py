"""`./dev breaks` (scripts/break_promises.py) itself: every break in its list still applies to this tree, and a
break that no longer applies fails the command loudly, naming the break and why (issue 37). The full run (each
break caught by a test) is `./dev breaks`; here only the check, which takes a second."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "break_promises.py"


def check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--root", str(root)], capture_output=True, text=True, timeout=120
    )


def count_breaks() -> int:
    return SCRIPT.read_text().count("    Break(\n")


def test_every_break_applies_to_this_tree():
    out = check(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == count_breaks() >= 13, out.stdout
    assert all(" applies to " in line for line in lines), out.stdout


def test_a_break_that_no_longer_applies_fails_the_command_naming_it(tmp_path):
    shutil.copytree(ROOT / "pyotritonclient", tmp_path / "pyotritonclient")
    target = tmp_path / "pyotritonclient" / "service" / "sequences.py"
    text = target.read_text()
    assert 'new_string_sequence_id("svc-")' in text
    target.write_text(text.replace('new_string_sequence_id("svc-")', 'new_string_sequence_id(prefix="svc-")'))
    out = check(tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "the Triton sequence id is the caller's" in out.stderr
    assert "pyotritonclient/service/sequences.py" in out.stderr and "not found" in out.stderr
    assert "Traceback" not in out.stderr
