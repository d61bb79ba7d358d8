// Opens an ImJoy app page in headless Debian Chromium (playwright-core, never a downloaded browser) with
// every request to the outside world answered from local files, and prints "RESULT <json>" once the page
// sets window.RESULT ("ERROR ..." if it sets window.ERROR or times out).
// usage: node run_imjoy.mjs <playwright-core dir> <routes.json> <page url> [timeout ms] [frame check json]
// routes.json: {"prefixes": [[url prefix, local dir], ...]}; the longest matching prefix wins. Requests to
// 127.0.0.1 go to the network (the test's nginx and Triton); anything else unrouted is answered 404 and
// listed in the result as "unrouted" (so a test can see what the runtime tried to reach).
import { pathToFileURL } from "node:url";
import path from "node:path";
import fs from "node:fs";

const [playwrightDir, routesFile, pageUrl, timeoutMs = "180000", frameCheck = ""] = process.argv.slice(2);

// frameCheck {"prefix": url}: the page inside a window plugin (a frame whose URL starts with prefix) is the
// playground; wait until it is ready, connect (its URL field is filled from the window's config), list models.
async function checkFrame(page, { prefix }) {
  const deadline = Date.now() + 60000;
  let frame;
  while (!(frame = page.frames().find((f) => f.url().startsWith(prefix)))) {
    if (Date.now() > deadline) return { error: "no playground frame: " + page.frames().map((f) => f.url()).join(" ") };
    await new Promise((r) => setTimeout(r, 200));
  }
  await frame.waitForFunction(() => window.PLAYGROUND && window.PLAYGROUND.ready, null, { timeout: 60000 });
  const readyMs = await frame.evaluate(() => window.PLAYGROUND.readyMs);
  const url = await frame.inputValue("#url");
  await frame.click("#connect");
  await frame.waitForFunction(() => /Connected|Cannot|refused/.test(document.querySelector("#message").textContent), null, { timeout: 60000 });
  return { readyMs, url, message: await frame.textContent("#message"),
           models: await frame.$$eval("#models tbody tr", (rows) => rows.map((r) => r.dataset.model)) };
}
const { chromium } = await import(pathToFileURL(path.join(playwrightDir, "index.mjs")).href);
const routes = JSON.parse(fs.readFileSync(routesFile, "utf8"));
const prefixes = routes.prefixes.sort((a, b) => b[0].length - a[0].length);
const TYPES = { ".html": "text/html", ".js": "application/javascript", ".mjs": "application/javascript",
  ".wasm": "application/wasm", ".json": "application/json", ".whl": "application/zip", ".zip": "application/zip",
  ".tar": "application/x-tar", ".data": "application/octet-stream", ".map": "application/json" };

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--disable-quic",
         "--disable-features=PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults," +
         "BlockInsecurePrivateNetworkRequests,LocalNetworkAccessChecks"],
});
const unrouted = [];
const served = [];
let code = 0;
try {
  const context = await browser.newContext({ serviceWorkers: "block" });
  await context.route("**/*", async (route) => {
    const url = route.request().url();
    const { hostname } = new URL(url);
    if (hostname === "127.0.0.1" || hostname === "localhost") return route.continue();
    const bare = url.split("#")[0].split("?")[0];
    for (const [prefix, dir] of prefixes) {
      if (!bare.startsWith(prefix)) continue;
      let file = path.join(dir, decodeURIComponent(bare.slice(prefix.length)));
      if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, "index.html");
      if (fs.existsSync(file)) {
        served.push(bare);
        return route.fulfill({ status: 200, path: file,
          headers: { "content-type": TYPES[path.extname(file)] || "application/octet-stream",
                     "access-control-allow-origin": "*", "cache-control": "no-store" } });
      }
      break;
    }
    unrouted.push(bare);
    return route.fulfill({ status: 404, body: "not served offline: " + bare,
                           headers: { "access-control-allow-origin": "*" } });
  });
  const page = await context.newPage();
  page.on("console", (msg) => console.error("[page] " + msg.text()));
  page.on("pageerror", (err) => console.error("[page error] " + err.message));
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.RESULT !== undefined || window.ERROR !== undefined, null,
                             { timeout: Number(timeoutMs), polling: 200 });
  const error = await page.evaluate(() => window.ERROR);
  const result = error !== undefined ? { error } : await page.evaluate(() => window.RESULT);
  if (frameCheck && error === undefined) result.frame = await checkFrame(page, JSON.parse(frameCheck));
  result.unrouted = unrouted;
  result.served = served;
  console.log("RESULT " + JSON.stringify(result));
  if (error !== undefined) code = 1;
} catch (err) {
  console.log("ERROR " + (err && err.message || err) + " unrouted=" + JSON.stringify(unrouted));
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
