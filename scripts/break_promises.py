"""Break documented promises one at a time in a scratch copy and run the test file a developer would pick for
that module; each break must be caught (a test fails). Prints one line per break (docs/contributing.md).

    ./dev breaks          # all of them (about 15 minutes on 2 cores); exit 1 when one is not caught
    ./dev breaks 3 5      # only these
    ./dev breaks --check  # only whether every break still applies to the tree (the test run does this)

A break whose snippet is no longer in its file (the code moved on) fails the command before anything runs,
naming the break and why (exit 2): the list must be brought up to date, never silently shortened.
"""

import os
import shutil
import subprocess
import sys
from typing import List, NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V = sys.executable  # the dev venv's python (./dev breaks)


class Break(NamedTuple):
    """One promise broken: what, in which file, the exact snippet and its replacement, the tests that catch it."""

    what: str
    path: str
    old: str
    new: str
    tests: str


BREAKS = [
    Break(
        "configure() no longer ends the previous server's sequences",
        "pyotritonclient/service/imjoy.py",
        "        await previous.close()\n",
        "",
        "tests/test_plugin.py",
    ),
    Break(
        "the size limit dropped from every function but execute",
        "pyotritonclient/service/core.py",
        '        self.config.check_size((args, kwargs), f"the arguments of {name}()")\n',
        "",
        "tests/test_service_isolation.py",
    ),
    Break(
        "the service's per-call deadline dropped",
        "pyotritonclient/service/core.py",
        '                bound["deadline"] = Deadline(self.config.timeout)',
        '                bound["deadline"] = Deadline(None)',
        "tests/test_service_isolation.py",
    ),
    Break(
        "the pool's 'no server' message shows passwords",
        "pyotritonclient/engine/pool.py",
        '        listed = "; ".join(f"{redact_url(url)}: {why}"',
        '        listed = "; ".join(f"{url}: {why}"',
        "tests/test_pool_slow_member.py",
    ),
    Break(
        "BYTES decoding drops trailing NULs",
        "pyotritonclient/protocol/tensors.py",
        "        append(data[pos + 4 : stop] if whole else bytes(data[pos + 4 : stop]))",
        "        append(bytes(data[pos + 4 : stop]).rstrip(b'\\0'))",
        "tests/test_client.py",
    ),
    Break(
        "the playground's /triton/ no longer wants the token",
        "pyotritonclient/playground/server.py",
        "            if not hmac.compare_digest(",
        "            if False and not hmac.compare_digest(",
        "tests/test_playground_security.py",
    ),
    Break(
        "the playground answers any Host (DNS rebinding)",
        "pyotritonclient/playground/server.py",
        '            check_host(self.headers.get("Host"), int(self.server.server_address[1]), self.server.allowed_hosts)\n',  # noqa: E501
        "",
        "tests/test_playground_security.py",
    ),
    Break(
        "sequences keyed by id alone (not by caller)",
        "pyotritonclient/service/sequences.py",
        "        key = (caller_of(context), str(sequence_id))",
        "        key = next((k for k in self.open if k[1] == str(sequence_id)), (caller_of(context), str(sequence_id)))",  # noqa: E501
        "tests/test_service_isolation.py",
    ),
    Break(
        "the Triton sequence id is the caller's",
        "pyotritonclient/service/sequences.py",
        'new_string_sequence_id("svc-") if string_ids(config) else new_sequence_id()',
        "(sequence_id or new_sequence_id())",
        "tests/test_service_isolation.py",
    ),
    Break(
        "CLI batch items named by the file stem, unchecked",
        "pyotritonclient/cli/files.py",
        '    return "/".join(safe_part(part) for part in parts)',
        "    return path.stem",
        "tests/test_cli_files.py",
    ),
    Break(
        "-v request lines show the password",
        "pyotritonclient/http/_base.py",
        'print(f"{request.method} {redact_url(request.url)}, headers {headers}")',
        'print(f"{request.method} {request.url}, headers {headers}")',
        "tests/test_cli.py",
    ),
    Break(
        "the pool waits for a member's index without a bound",
        "pyotritonclient/engine/pool.py",
        "await asyncio.wait_for(member.session.repository_index(ready=True), INDEX_TIMEOUT)",
        "await member.session.repository_index(ready=True)",
        "tests/test_pool_slow_member.py",
    ),
    Break(
        "a 4 GB Content-Length is read, not refused",
        "pyotritonclient/playground/guard.py",
        "    if length > limit:\n",
        "    if False:\n",
        "tests/test_playground_framing.py",
    ),
    Break(
        "ProtocolError leaves the error family",
        "pyotritonclient/errors.py",
        "class ProtocolError(InferenceServerException, ValueError):",
        "class ProtocolError(ValueError):",
        "tests/test_hostile.py",
    ),
    Break(
        "the playground's model-file refusal decided on the raw target (a query string skips it)",
        "pyotritonclient/playground/server.py",
        '                if kind == "load":\n',
        '                if target.rstrip("/").endswith("/load"):\n',
        "tests/test_playground_security.py",
    ),
    Break(
        "the service takes a context its caller wrote in its own segment",
        "pyotritonclient/service/envelope.py",
        '    if message.get("ctx") is not context:',
        "    if False:",
        "tests/test_service_trust.py",
    ),
    Break(
        "a started Triton takes model loads from anyone",
        "pyotritonclient/testing/server.py",
        '        mode = ["--model-control-mode=explicit", "--load-model=*"] if self.model_control else []',
        '        mode = ["--model-control-mode=explicit", "--load-model=*"]',
        "tests/test_local_triton_safety.py",
    ),
    Break(
        "a chunk's announced size is not checked before it is buffered",
        "pyotritonclient/protocol/http11.py",
        "                if self.size + self._left > self.limit:",
        "                if False:",
        "tests/test_bounded_reads.py",
    ),
    Break(
        "a body of announced length is allocated whole up front",
        "pyotritonclient/transport/asyncio_connection.py",
        "            self._body = bytearray(min(frame.length, max(len(rest), BODY_STEP)))",
        "            self._body = bytearray(frame.length)",
        "tests/test_bounded_reads.py",
    ),
    Break(
        "sets are counted as 8 bytes by the size limit",
        "pyotritonclient/service/policy.py",
        "        elif isinstance(item, (list, tuple, set, frozenset)):",
        "        elif isinstance(item, (list, tuple)):",
        "tests/test_raw_errors.py",
    ),
    Break(
        "a URL without a scheme shows its password",
        "pyotritonclient/protocol/urls.py",
        '    if "://" not in url:\n        authority, slash, rest = url.partition("/")',
        '    if False:\n        authority, slash, rest = url.partition("/")',
        "tests/test_protocol_exact.py",
    ),
    Break(
        "a reset before any answer counts as maybe received (no move to the live member)",
        "pyotritonclient/transport/errors.py",
        "        self.unread = before_answer and reset",
        "        self.unread = False",
        "tests/test_pool_reset.py",
    ),
    Break(
        "execute answers a context that names no sender",
        "pyotritonclient/service/core.py",
        '            sender_of(kwargs["context"])',
        "            pass",
        "tests/test_hostile.py",
    ),
    Break(
        "the token file is written in place (a symlink is followed)",
        "pyotritonclient/service/startup.py",
        "        os.replace(temporary, path)",
        "        path.write_text(text)",
        "tests/test_service_secrets.py",
    ),
    Break(
        "the engine hands the client seconds instead of the call's Deadline (a second deadline is made below)",
        "pyotritonclient/engine/session.py",
        "            client_timeout=deadline,",
        "            client_timeout=deadline.request_timeout(),",
        "tests/test_deadline.py",
    ),
    Break(
        "the request writer takes a header value with a line break",
        "pyotritonclient/protocol/http11.py",
        "            or _is_text(value)",
        "            or True",
        "tests/test_http11_writer.py",
    ),
    Break(
        "the answer to a HEAD is read as if it had a body",
        "pyotritonclient/protocol/http11.py",
        ' or method == "HEAD":',
        ":",
        "tests/test_http11_writer.py",
    ),
]


def stale(root: str, chosen: List[int]) -> List[str]:
    """Why each chosen break cannot be applied to the tree at ``root`` (empty when all apply exactly once)."""
    problems = []
    for index in chosen:
        item = BREAKS[index - 1]
        try:
            found = open(os.path.join(root, item.path)).read().count(item.old)
        except OSError as exc:
            problems.append(f"break {index} ({item.what}): {item.path} cannot be read: {exc.strerror}")
            continue
        if found != 1:
            why = "not found" if not found else f"found {found} times (it must be there once)"
            problems.append(f"break {index} ({item.what}): its snippet is {why} in {item.path}: {item.old.strip()!r}")
    return problems


def run(index: int) -> bool:
    """Apply break ``index`` in a scratch copy and run its tests; True when a test catches it."""
    item = BREAKS[index - 1]
    scratch = f"/tmp/break-{index}"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(
        ROOT, scratch, ignore=shutil.ignore_patterns(".git", "test-artifacts", "__pycache__", "site", "mutants")
    )
    target = os.path.join(scratch, item.path)
    text = open(target).read()
    open(target, "w").write(text.replace(item.old, item.new))
    env = dict(os.environ, PYTHONPATH=scratch)
    out = subprocess.run(
        [V, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", item.tests],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    failed = [line for line in out.stdout.splitlines() if line.startswith("FAILED")]
    caught = "CAUGHT by " + failed[0].split(" - ")[0][7:] if out.returncode and failed else "NOT CAUGHT"
    if out.returncode and not failed:
        caught = f"CAUGHT (pytest exit {out.returncode})"
    print(f"{index:2d}. {item.what}: {caught}", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return bool(out.returncode)


def main(argv: List[str]) -> int:
    """``[--check] [--root DIR] [N ...]``: check or run the chosen breaks (all by default)."""
    global ROOT
    check = "--check" in argv
    argv = [a for a in argv if a != "--check"]
    if "--root" in argv:
        at = argv.index("--root")
        ROOT = os.path.abspath(argv[at + 1])
        del argv[at : at + 2]
    if any(not a.isdigit() or not 1 <= int(a) <= len(BREAKS) for a in argv):
        print(f"breaks: expected break numbers from 1 to {len(BREAKS)}, got {' '.join(argv)}", file=sys.stderr)
        return 2
    chosen = [int(a) for a in argv] or list(range(1, len(BREAKS) + 1))
    problems = stale(ROOT, chosen)
    if problems:
        print("breaks: cannot run, the list is out of date:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    if check:
        for index in chosen:
            print(f"{index:2d}. {BREAKS[index - 1].what}: applies to {BREAKS[index - 1].path}")
        return 0
    missed = [index for index in chosen if not run(index)]
    if missed:
        print(f"breaks: {len(missed)} not caught: {', '.join(map(str, missed))}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
