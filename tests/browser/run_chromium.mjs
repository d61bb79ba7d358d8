// Opens a page in headless Debian Chromium (driven by playwright-core, never a downloaded browser) and
// prints "RESULT <json>" once the page has set window.RESULT (or "ERROR ..." if it set window.ERROR).
// usage: node run_chromium.mjs <playwright-core dir> <page url> [timeout ms]
import { pathToFileURL } from "node:url";
import path from "node:path";

const [playwrightDir, pageUrl, timeoutMs = "120000"] = process.argv.slice(2);
const { chromium } = await import(pathToFileURL(path.join(playwrightDir, "index.mjs")).href);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--disable-quic"],
});
let code = 0;
try {
  const page = await browser.newPage();
  page.on("console", (msg) => console.error("[page] " + msg.text()));
  page.on("pageerror", (err) => console.error("[page error] " + err.message));
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.RESULT !== undefined || window.ERROR !== undefined, null,
                             { timeout: Number(timeoutMs), polling: 100 });
  const error = await page.evaluate(() => window.ERROR);
  if (error !== undefined) {
    console.log("ERROR " + error);
    code = 1;
  } else {
    console.log("RESULT " + (await page.evaluate(() => JSON.stringify(window.RESULT))));
  }
} catch (err) {
  console.log("ERROR " + (err && err.message || err));
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
