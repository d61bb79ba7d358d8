// Runs bioengine_webapp.mjs in a headless Chromium page (hypha-rpc's browser build, loaded as web apps load it).
// Prints "RESULT <json>".
// usage: node bioengine_webapp_page.mjs <node_modules dir with hypha-rpc> <playwright-core dir> <hypha url>
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [modules, playwrightDir, hyphaUrl] = process.argv.slice(2);
const { chromium } = await import(pathToFileURL(path.join(playwrightDir, "index.mjs")).href);
const here = path.dirname(fileURLToPath(import.meta.url));
const files = {
  "/hypha-rpc.js": readFileSync(path.join(modules, "hypha-rpc", "dist", "hypha-rpc-websocket.min.js")),
  "/bioengine_webapp.mjs": readFileSync(path.join(here, "bioengine_webapp.mjs")),
  "/": '<!doctype html><script src="/hypha-rpc.js"></script><script type="module">import { bioengineWebApp } from "/bioengine_webapp.mjs"; window.bioengineWebApp = bioengineWebApp;</script>',
};
const site = http.createServer((request, response) => {
  const body = files[request.url];
  response.writeHead(body ? 200 : 404, { "Content-Type": request.url === "/" ? "text/html" : "text/javascript" });
  response.end(body || "");
});
await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => console.error("[page error] " + err.message));
  await page.goto(`http://127.0.0.1:${site.address().port}/`);
  await page.waitForFunction(() => window.bioengineWebApp && window.hyphaWebsocketClient);
  const result = await page.evaluate((url) => window.bioengineWebApp(window.hyphaWebsocketClient, url), hyphaUrl);
  console.log("RESULT " + JSON.stringify(result));
} catch (err) {
  console.log("ERROR " + ((err && err.message) || err));
  process.exitCode = 1;
} finally {
  await browser.close();
  site.close();
}
