"""`./dev mutate`: mutation testing with one real Triton for every mutant's run, then the score per module.

The tests of the pool and of the service's sequences need a real Triton; a mutant's run (a fresh pytest in a
forked process) cannot start one in reasonable time, so this starts one from tests/models with the suite's
arguments, names its port to the tests (conftest's SHARED_TRITON) and stops it when mutmut is done.

Thousands of runs against one server found a crash of Triton 2.x itself (``free(): invalid next size`` while it
deletes a request, after many failed sequence steps): a watchdog starts it again on the same ports at once, the
tests wait for it to be ready, and the number of restarts is printed with the score (a mutant whose tests ran
at the moment of a crash may be counted as killed)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import MODELS_DIR, SHARED_TRITON, SUITE_CONTROL, TRITON_ARGS  # noqa: E402

from pyotritonclient.testing.server import TritonServer  # noqa: E402


class Watchdog(threading.Thread):
    """Starts the server again, on the same ports, whenever it exits before ``done`` is set."""

    def __init__(self, server: TritonServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.done = threading.Event()
        self.restarts = 0

    def run(self) -> None:
        while not self.done.is_set():
            process = self.server.process
            if process is None:
                return
            code = process.wait()
            if self.done.is_set():
                return
            self.restarts += 1
            print(f"[mutate] Triton exited ({code}; log {self.server.log_path}); starting it again", file=sys.stderr)
            self.server.log_path = None  # a new log: the old one keeps the crash
            self.server.start()


def main(argv: list[str]) -> int:
    server = TritonServer(MODELS_DIR, extra_args=TRITON_ARGS, **SUITE_CONTROL).start()
    watchdog = Watchdog(server)
    watchdog.start()
    try:
        env = {**os.environ, SHARED_TRITON: str(server.http_port)}
        run = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", *argv],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    finally:
        watchdog.done.set()
        server.stop()
    print("\n".join(run.stdout.strip().splitlines()[-2:]))
    print(f"Triton restarts during the run: {watchdog.restarts}")
    if run.returncode != 0:
        print(run.stdout[-4000:], file=sys.stderr)
        return run.returncode
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "mutation_score.py")], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
