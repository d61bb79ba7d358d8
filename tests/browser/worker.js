// Runs INSIDE a module web worker: loads the local Pyodide, installs the wheel with micropip, and runs
// sync_checks.py (the blocking client over synchronous XMLHttpRequest) against Triton on another origin.
import { loadPyodide } from "/pyodide/pyodide.mjs";
const params = new URLSearchParams(location.search);
try {
  const started = performance.now();
  const pyodide = await loadPyodide({ indexURL: "/pyodide/" });
  await pyodide.loadPackage(location.origin + "/wheels/" + params.get("micropip"));
  const micropip = pyodide.pyimport("micropip");
  await micropip.install.callKwargs(location.origin + "/wheels/" + params.get("wheel"), { deps: false });
  const readySeconds = (performance.now() - started) / 1000;  // Pyodide 314 + the wheel, in a module worker
  pyodide.globals.set("CONFIG_JSON", JSON.stringify(Object.fromEntries(params)));
  const code = await (await fetch("/sync_checks.py")).text();
  // runPython, not runPythonAsync: the blocking client must finish every call without the event loop.
  pyodide.runPython("import json\nCONFIG = json.loads(CONFIG_JSON)\nRESULT = None\n" + code);
  const result = JSON.parse(pyodide.runPython("json.dumps(RESULT)"));
  result.ready_seconds = readySeconds;
  postMessage({ result });
} catch (err) {
  postMessage({ error: String(err && err.message || err) });
}
