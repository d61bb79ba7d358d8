// Drives the playground page in headless Debian Chromium (playwright-core) as a user would: types URLs,
// clicks, picks files, reads what the page shows (messages, tables, the output canvas's pixels) and saves a
// screenshot. Prints "RESULT <json>".
// usage: node run_playground.mjs <playwright-core dir> <page url> <json config>
import { pathToFileURL } from "node:url";
import path from "node:path";

const [playwrightDir, pageUrl, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson);
const { chromium } = await import(pathToFileURL(path.join(playwrightDir, "index.mjs")).href);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  // rebind.test resolves to 127.0.0.1, as a DNS-rebinding attacker's name would
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--host-resolver-rules=MAP rebind.test 127.0.0.1"],
});
let out = { console: [], requested: [] };
// The whole scenario; run again once, on a fresh page, if Chromium's renderer crashes ("Target crashed": seen
// once in a full test run, not reproducible alone or under load) — what crashed is kept in crashed_before.
async function scenario() {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
  page.on("console", (msg) => { if (msg.type() === "error") out.console.push(msg.text()); });
  page.on("pageerror", (err) => out.console.push("pageerror: " + err.message));
  page.on("request", (request) => out.requested.push(request.url()));
  const started = Date.now();
  // a link that tries to choose where the page's code comes from: the page must ignore it
  await page.goto(pageUrl + "?pyodide=" + encodeURIComponent(config.evil_code) + "&wheel=" + encodeURIComponent(config.evil_code + "x.whl"));
  await page.waitForFunction(() => window.PLAYGROUND && (window.PLAYGROUND.ready || document.querySelector("#message.error")), null, { timeout: 60000 });
  out.ready = await page.evaluate(() => window.PLAYGROUND.ready);
  out.ready_ms = await page.evaluate(() => window.PLAYGROUND.readyMs);
  out.ready_wall_ms = Date.now() - started;
  out.default_url = await page.inputValue("#url");

  const messageAfter = async (action) => {  // the message box's text once it changed after `action`
    const before = await page.textContent("#message");
    await action();
    await page.waitForFunction((b) => { const m = document.querySelector("#message"); return m.textContent !== b && !/^(Connecting|Loading|Unloading)/.test(m.textContent); }, before, { timeout: 120000 });
    return { text: await page.textContent("#message"), kind: await page.getAttribute("#message", "class") };
  };
  const connect = (url) => messageAfter(async () => { await page.fill("#url", url); await page.click("#connect"); });
  const open = (model) => messageAfter(() => page.click(`#models tr[data-model="${model}"] button[data-action=open]`));
  const run = (button = "#run") => messageAfter(() => page.click(button));
  const fill = (input, text) => page.fill(`fieldset[data-input="${input}"] textarea`, text);
  const pick = async (input, file, choices = {}) => {
    await page.setInputFiles(`fieldset[data-input="${input}"] input[type=file]`, file);
    await page.waitForFunction((name) => document.querySelector(`fieldset[data-input="${name}"] [data-role=info]`).textContent, input);
    for (const [role, value] of Object.entries(choices)) await page.selectOption(`fieldset[data-input="${input}"] [data-role=${role}]`, value);
  };
  const cells = (output) => page.$$eval(`#outputs section[data-output="${output}"] table.values td`, (tds) => tds.map((td) => Number(td.textContent)));

  out.bad_url = await connect(config.bad_url);
  out.no_cors = await connect(config.no_cors_url);
  out.no_cors_help = await page.$eval("#message", (m) => (m.querySelector("a") || {}).href || "");
  out.connected = await connect(out.default_url);  // Triton through the playground's own /triton/
  out.server_meta = await page.textContent("#server-meta");
  out.models = await page.$$eval("#models tbody tr", (rows) => rows.map((r) => [r.dataset.model, r.cells[1].textContent]));

  await open("add_sub");
  out.add_sub_io = await page.$$eval("#io tbody tr", (rows) => rows.map((r) => Array.from(r.cells, (c) => c.textContent)));
  await fill("INPUT0", JSON.stringify(Array.from({ length: 16 }, (_, i) => i)));
  await fill("INPUT1", JSON.stringify(Array(16).fill(3)));
  out.add_sub_run = await run();
  out.add_sub = { OUTPUT0: await cells("OUTPUT0"), OUTPUT1: await cells("OUTPUT1"), latency: await page.textContent("#latency") };
  out.add_sub_title = await page.textContent('#outputs section[data-output="OUTPUT0"] h3');

  await open("cellpose-python");
  // the PNG is dropped on the input's drop zone, as a user drags a file from their desktop
  const png = (await import("node:fs")).readFileSync(config.image).toString("base64");
  await page.evaluate(([b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], "cells.png", { type: "image/png" }));
    const zone = document.querySelector('fieldset[data-input="image"] .drop');
    zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, [png]);
  await page.waitForFunction(() => /cells.png: 40 x 30/.test(document.querySelector('fieldset[data-input="image"] [data-role=info]').textContent));
  await fill("param", JSON.stringify({ diameter: 30, threshold: config.threshold }));
  out.cellpose_run = await run();
  out.mask = await page.$eval('#outputs section[data-output="mask"] canvas[data-kind=labels]', (canvas) => {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    return { width: canvas.width, height: canvas.height, rgba: Array.from(data) };
  });
  out.label_one = await page.evaluate(() => window.PLAYGROUND.labelColor(1));
  out.overlay = (await page.$$('#outputs section[data-output="mask"] canvas[data-kind=overlay]')).length;
  out.info = await page.textContent('#outputs section[data-output="info"] pre');
  out.info_tree = await page.$$eval('#outputs section[data-output="info"] .tree summary', (s) => s.map((x) => x.textContent));
  out.downloads = await page.$$eval("#outputs a[download]", (links) => links.map((a) => a.download));
  await page.screenshot({ path: config.screenshot, fullPage: true });

  await open("thumbnail_rgb");
  await pick("image", config.wrong_image);
  out.wrong_shape = await run();

  await open("sequence_accumulate");
  out.sequence_start = await run("#seq-start");
  out.sequence = [];
  for (const value of [5, 7, 1]) {
    await fill("INPUT", JSON.stringify([value]));
    await run("#seq-step");
    out.sequence.push({ state: await page.textContent("#sequence-state"), output: await cells("OUTPUT") });
  }
  out.sequence_end = await run("#seq-end");
  out.sequence_after = await page.textContent("#sequence-state");

  await open("cancellable_stream");  // a decoupled model: its tokens as they come, and Stop
  await fill("TAG", config.stream_tag);
  await fill("COUNT", "[100000]");
  await fill("DELAY", "[0.02]");
  await page.click("#stream");
  await page.waitForFunction(() => document.querySelector("#stream-out").textContent.includes("token 2"), null, { timeout: 60000 });
  out.stream_stop = await messageAfter(() => page.click("#stop"));
  out.stream_text = await page.textContent("#stream-out");

  await open("identity_fp32");
  await pick("INPUT0", config.big_image, { channels: "1" });
  out.big_run = await run();
  out.big = { ms: await page.evaluate(() => window.PLAYGROUND.lastMs), title: await page.textContent('#outputs section[data-output="OUTPUT0"] h3'),
              latency: await page.textContent("#latency") };
  const state = (model) => page.$eval(`#models tr[data-model="${model}"]`, (r) => r.cells[1].textContent);
  out.unload = await messageAfter(() => page.click('#models tr[data-model="slow"] button[data-action=unload]'));
  out.unloaded_state = await state("slow");
  out.load = await messageAfter(() => page.click('#models tr[data-model="slow"] button[data-action=load]'));
  out.loaded_state = await state("slow");

  // Another site the user visits tries to reach the playground's Triton (and to read its page and token).
  const evil = await browser.newPage();
  await evil.goto(config.evil_page);
  out.evil = await evil.evaluate(async (target) => {
    const tries = {};
    const attempt = async (name, url, init) => {
      try { const r = await fetch(url, init); tries[name] = r.type === "opaque" ? "opaque" : r.status; }
      catch (err) { tries[name] = "blocked"; }
    };
    await attempt("no_cors_unload", target + "triton/v2/repository/models/slow/unload",
                  { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: "{}" });
    await attempt("cors_unload_with_token", target + "triton/v2/repository/models/slow/unload",
                  { method: "POST", headers: { "X-Playground-Token": "guessed" }, body: "{}" });
    await attempt("read_page", target, {});
    return tries;
  }, pageUrl);
  // The same attack through a name rebound to 127.0.0.1: same-origin for the browser, but not the playground's Host.
  const rebound = await browser.newPage();
  const answer = await rebound.goto(pageUrl.replace("127.0.0.1", "rebind.test"));
  out.rebound = { status: answer.status(), body: await rebound.content() };
  for (const opened of browser.contexts()) await opened.close();
}
try {
  try {
    await scenario();
  } catch (err) {
    const message = String(err && err.message || err);
    if (!/Target crashed|Page crashed/.test(message)) throw err;
    const crashed_before = message.slice(0, 300) + " " + JSON.stringify(out).slice(0, 600);
    for (const opened of browser.contexts()) await opened.close().catch(() => {});
    out = { console: [], requested: [], crashed_before };
    await scenario();
  }
  console.log("RESULT " + JSON.stringify(out));
} catch (err) {
  console.log("ERROR " + (err && err.message || err) + " " + JSON.stringify(out).slice(0, 3000));
  process.exitCode = 1;
} finally {
  await browser.close();
}
