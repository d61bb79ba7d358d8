// Opens the playground page in headless Debian Chromium with the requests for one URL prefix (a CDN) answered
// from a local folder instead (the browser's routing: nothing reaches the network), and reports whether the page
// became ready or what it said. Prints "RESULT <json>".
// usage: node load_playground.mjs <playwright-core dir> <page url> <url prefix> <folder>
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [playwrightDir, pageUrl, prefix, folder] = process.argv.slice(2);
const { chromium } = await import(pathToFileURL(path.join(playwrightDir, "index.mjs")).href);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
const out = { console: [], served: [] };
try {
  const page = await browser.newPage();
  page.on("console", (msg) => out.console.push(msg.text()));
  await page.route(prefix + "**", async (route) => {
    const name = route.request().url().slice(prefix.length).split("?")[0];
    const file = path.join(folder, name);
    if (!name || !existsSync(file)) return route.fulfill({ status: 404, body: "not found" });
    out.served.push(name);
    const type = name.endsWith(".wasm") ? "application/wasm" : /\.m?js$/.test(name) ? "text/javascript"
      : name.endsWith(".json") ? "application/json" : "application/octet-stream";
    await route.fulfill({ status: 200, body: readFileSync(file), headers: { "Content-Type": type, "Access-Control-Allow-Origin": "*" } });
  });
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.PLAYGROUND && (window.PLAYGROUND.ready || document.querySelector("#message.error")), null, { timeout: 120000 });
  out.ready = await page.evaluate(() => window.PLAYGROUND.ready);
  out.message = await page.textContent("#message");
  out.python = out.ready ? await page.evaluate(() => window.PLAYGROUND.state.pyodide.runPython("import sys; sys.version.split()[0]")) : null;
  console.log("RESULT " + JSON.stringify(out));
} catch (err) {
  console.log("ERROR " + ((err && err.message) || err) + " " + JSON.stringify(out).slice(0, 3000));
  process.exitCode = 1;
} finally {
  await browser.close();
}
