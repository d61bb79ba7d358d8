// Runs a Python script inside real Pyodide under Node.js, with a wheel of this package installed.
// usage: node run_pyodide.mjs <pyodide dir> <wheel file> <script.py> <json config>
// The script sees CONFIG (a dict) and must leave its answer in RESULT (JSON-able); it is printed as
// one line "RESULT <json>" on stdout. Nothing here fakes fetch or js: Node's own fetch does the HTTP.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [pyodideDir, wheel, script, config] = process.argv.slice(2);
process.on("unhandledRejection", (err) => { console.error("ERROR " + (err && err.message || err)); process.exit(2); });
try {
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: pyodideDir + path.sep });
pyodide.unpackArchive(new Uint8Array(readFileSync(wheel)), "wheel");
pyodide.globals.set("CONFIG_JSON", config);
await pyodide.runPythonAsync("import json\nCONFIG = json.loads(CONFIG_JSON)\nRESULT = None\n");
await pyodide.runPythonAsync(readFileSync(script, "utf8"));
const result = pyodide.runPython("json.dumps(RESULT)");
console.log("RESULT " + result);
process.exit(0);  // pending timers (timeouts of finished requests) would keep Node alive
} catch (err) {
  console.error("ERROR " + (err && err.message || err));
  process.exit(1);
}
