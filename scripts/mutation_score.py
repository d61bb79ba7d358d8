"""Print the mutation score of the last `mutmut run` and group the surviving mutants by function.

A mutant is caught when its tests fail ("killed") or do not finish ("timeout": they hung, and nothing may hang),
as mutmut's own score counts them."""

from __future__ import annotations

import collections
import re
import subprocess
import sys

out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], capture_output=True, text=True)
if out.returncode != 0:  # older mutmut: no --all
    out = subprocess.run([sys.executable, "-m", "mutmut", "results"], capture_output=True, text=True)
statuses = collections.Counter()
survivors = collections.Counter()
for line in out.stdout.splitlines():
    match = re.match(r"\s*(\S+): (.+)$", line)
    if not match:
        continue
    name, status = match.groups()
    statuses[status] += 1
    if status in ("survived", "no tests"):
        survivors[re.sub(r"__mutmut_\d+$", "", name)] += 1
killed = statuses.get("killed", 0) + statuses.get("timeout", 0)
total = sum(statuses.values())
timeouts = statuses.get("timeout", 0)
print(
    f"mutants: {total}, caught: {killed} ({timeouts} by a timeout), score: {killed / total:.1%}"
    if total
    else "no results: run mutmut first"
)
per_module: dict = collections.defaultdict(collections.Counter)
for line in out.stdout.splitlines():
    match = re.match(r"\s*(\S+): (.+)$", line)
    if match:
        module = match.group(1).split(".x", 1)[0].split(".xǁ", 1)[0]
        per_module[module.rsplit(".", 1)[0] if "__mutmut_" in module else module][match.group(2)] += 1
for module, counts in sorted(per_module.items()):
    done = sum(counts.values())
    caught = counts.get("killed", 0) + counts.get("timeout", 0)
    print(f"  {module}: {caught}/{done} caught, {caught / done:.1%}")
for function, count in survivors.most_common():
    print(f"  {count:3d} surviving in {function}")
