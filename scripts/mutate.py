"""`./dev mutate`: mutation testing with one real Triton for every mutant's run, then the score per module.

The tests of the pool and of the service's sequences need a real Triton; a mutant's run (a fresh pytest in a
forked process) cannot start one in reasonable time, so this starts one from tests/models with the suite's
arguments, names its port to the tests (conftest's SHARED_TRITON) and stops it when mutmut is done."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import MODELS_DIR, SHARED_TRITON, TRITON_ARGS  # noqa: E402

from pyotritonclient.testing.server import TritonServer  # noqa: E402


def main(argv: list[str]) -> int:
    with TritonServer(MODELS_DIR, extra_args=TRITON_ARGS) as server:
        env = {**os.environ, SHARED_TRITON: str(server.http_port)}
        run = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", *argv],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        print("\n".join(run.stdout.strip().splitlines()[-2:]))
        if run.returncode != 0:
            print(run.stdout[-4000:], file=sys.stderr)
            return run.returncode
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "mutation_score.py")], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
