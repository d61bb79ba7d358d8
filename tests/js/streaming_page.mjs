// Runs the page of docs/streaming.md in headless Chromium: its hypha-rpc script (a CDN URL) is answered from
// the local npm copy by routing the request in the browser; waits for the third token, clicks Stop, waits for
// the page to say how the stream ended. Prints "RESULT <json>" with the page's text.
// usage: node streaming_page.mjs <playwright-core dir> <node_modules dir with hypha-rpc> <page.html>
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [playwrightDir, modules, pageFile] = process.argv.slice(2);
const { chromium } = await import(pathToFileURL(path.join(playwrightDir, "index.mjs")).href);
const html = readFileSync(pageFile);
const script = readFileSync(path.join(modules, "hypha-rpc", "dist", "hypha-rpc-websocket.min.js"));
const site = http.createServer((request, response) => {
  response.writeHead(200, { "Content-Type": "text/html" });
  response.end(html);
});
await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => console.error("[page error] " + err.message));
  page.on("console", (message) => console.error("[console] " + message.text()));
  page.on("requestfailed", (request) => console.error("[request failed] " + request.url()));
  await page.route("https://cdn.jsdelivr.net/**", (route) => {
    if (route.request().url().endsWith("/hypha-rpc-websocket.min.js")) {
      return route.fulfill({ status: 200, contentType: "text/javascript", body: script });
    }
    return route.fulfill({ status: 404, body: "" });
  });
  await page.goto(`http://127.0.0.1:${site.address().port}/`);
  await page.waitForFunction(() => document.getElementById("out").textContent.includes("token 2"), null, { timeout: 60000 });
  await page.click("#stop");
  await page.waitForFunction(() => /\[(stopped|end|error)/.test(document.getElementById("out").textContent), null, { timeout: 60000 });
  console.log("RESULT " + JSON.stringify({ text: await page.textContent("#out") }));
} catch (err) {
  console.log("ERROR " + ((err && err.message) || err));
  try { console.log("PAGE TEXT " + JSON.stringify(await browser.contexts()[0].pages()[0].textContent("#out"))); } catch (e) {}
  process.exitCode = 1;
} finally {
  await browser.close();
  site.close();
}
