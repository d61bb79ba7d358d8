"""Break documented promises one at a time in a scratch copy and run the test file a developer would pick for
that module; each break must be caught (a test fails). Prints one line per break (docs/contributing.md).

    ./dev breaks          # all of them (about 15 minutes on 2 cores)
    ./dev breaks 3 5      # only these
"""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V = sys.executable  # the dev venv's python (./dev breaks)
BREAKS = [
    (
        "configure() no longer ends the previous server's sequences",
        "pyotritonclient/service/imjoy.py",
        "        await previous.close()\n",
        "",
        "tests/test_plugin.py",
    ),
    (
        "the size limit dropped from every function but execute",
        "pyotritonclient/service/core.py",
        '        self.config.check_size((args, kwargs), f"the arguments of {name}()")\n',
        "",
        "tests/test_service_isolation.py",
    ),
    (
        "the service's per-call timeout dropped",
        "pyotritonclient/service/core.py",
        "            return await asyncio.wait_for(method(**bound), self.config.timeout)",
        "            return await method(**bound)",
        "tests/test_service_isolation.py",
    ),
    (
        "the pool's 'no server' message shows passwords",
        "pyotritonclient/engine/pool.py",
        '        listed = "; ".join(f"{redact_url(url)}: {why}"',
        '        listed = "; ".join(f"{url}: {why}"',
        "tests/test_pool_slow_member.py",
    ),
    (
        "BYTES decoding drops trailing NULs",
        "pyotritonclient/protocol/tensors.py",
        "        append(data[pos + 4 : stop] if whole else bytes(data[pos + 4 : stop]))",
        "        append(bytes(data[pos + 4 : stop]).rstrip(b'\\0'))",
        "tests/test_client.py",
    ),
    (
        "the playground's /triton/ no longer wants the token",
        "pyotritonclient/playground/server.py",
        "            if not hmac.compare_digest(",
        "            if False and not hmac.compare_digest(",
        "tests/test_playground_security.py",
    ),
    (
        "the playground answers any Host (DNS rebinding)",
        "pyotritonclient/playground/server.py",
        '            check_host(self.headers.get("Host"), int(self.server.server_address[1]), self.server.allowed_hosts)\n',  # noqa: E501
        "",
        "tests/test_playground_security.py",
    ),
    (
        "sequences keyed by id alone (not by caller)",
        "pyotritonclient/service/sequences.py",
        "        key = (caller_of(context), str(sequence_id))",
        "        key = next((k for k in self.open if k[1] == str(sequence_id)), (caller_of(context), str(sequence_id)))",  # noqa: E501
        "tests/test_service_isolation.py",
    ),
    (
        "the Triton sequence id is the caller's",
        "pyotritonclient/service/sequences.py",
        '"svc-" + secrets.token_hex(16) if string_ids(config) else new_sequence_id()',
        "(sequence_id or new_sequence_id())",
        "tests/test_service_isolation.py",
    ),
    (
        "CLI batch items named by the file stem, unchecked",
        "pyotritonclient/cli/files.py",
        '    return "/".join(safe_part(part) for part in parts)',
        "    return path.stem",
        "tests/test_cli_files.py",
    ),
    (
        "-v request lines show the password",
        "pyotritonclient/http/_base.py",
        'print(f"{method} {redact_url(url)}, headers',
        'print(f"{method} {url}, headers',
        "tests/test_cli.py",
    ),
    (
        "the pool waits for a member's index without a bound",
        "pyotritonclient/engine/pool.py",
        "await asyncio.wait_for(member.session.repository_index(ready=True), INDEX_TIMEOUT)",
        "await member.session.repository_index(ready=True)",
        "tests/test_pool_slow_member.py",
    ),
    (
        "a 4 GB Content-Length is read, not refused",
        "pyotritonclient/playground/guard.py",
        "    if length > limit:\n",
        "    if False:\n",
        "tests/test_playground_framing.py",
    ),
    (
        "ProtocolError leaves the error family",
        "pyotritonclient/errors.py",
        "class ProtocolError(InferenceServerException, ValueError):",
        "class ProtocolError(ValueError):",
        "tests/test_hostile.py",
    ),
]
only = sys.argv[1:]
for index, (what, path, old, new, tests) in enumerate(BREAKS, 1):
    if only and str(index) not in only:
        continue
    scratch = f"/tmp/break-{index}"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(
        ROOT, scratch, ignore=shutil.ignore_patterns(".git", "test-artifacts", "__pycache__", "site", "mutants")
    )
    target = os.path.join(scratch, path)
    text = open(target).read()
    assert text.count(old) == 1, (what, old)
    open(target, "w").write(text.replace(old, new))
    env = dict(os.environ, PYTHONPATH=scratch)
    out = subprocess.run(
        [V, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", tests],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    failed = [line for line in out.stdout.splitlines() if line.startswith("FAILED")]
    print(
        f"{index:2d}. {what}: {'CAUGHT by ' + failed[0].split(' - ')[0][7:] if out.returncode else 'NOT CAUGHT'}",
        flush=True,
    )
    shutil.rmtree(scratch, ignore_errors=True)
