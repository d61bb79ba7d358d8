// The service timed from a web page: headless Debian Chromium (playwright-core) loads hypha-rpc's browser
// build into a blank page, connects to hypha with the browser's own WebSocket (which always offers
// permessage-deflate: the hypha server decides), and times calls of the service (or a bare echo) with FP32
// ndarrays of the given sizes. Prints "RESULT <json>": {label: median seconds}.
// usage: node service_page.mjs <node_modules dir> <hypha url> <service id> <execute|echo> <json {label: floats}>
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, hyphaUrl, serviceId, method, sizesJson] = process.argv.slice(2);
const { chromium } = await import(pathToFileURL(path.join(modules, "playwright-core", "index.mjs")).href);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});
// The page comes from a local origin (a blank page may not open sockets to private addresses).
const script = readFileSync(path.join(modules, "hypha-rpc", "dist", "hypha-rpc-websocket.min.js"));
const site = http.createServer((request, response) => {
  const js = request.url === "/hypha-rpc.js";
  response.writeHead(200, { "Content-Type": js ? "text/javascript" : "text/html" });
  response.end(js ? script : '<!doctype html><script src="/hypha-rpc.js"></script>');
});
await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => console.error("[page error] " + err.message));
  await page.goto(`http://127.0.0.1:${site.address().port}/`);
  const result = await page.evaluate(async ({ hyphaUrl, serviceId, method, sizes }) => {
    const server = await hyphaWebsocketClient.connectToServer({ server_url: hyphaUrl });
    const svc = await server.getService(serviceId);
    const out = {};
    for (const [label, n] of Object.entries(sizes)) {
      const x = new Float32Array(n);
      x[0] = 1.5; x[n - 1] = -2.5;
      const nd = { _rtype: "ndarray", _rvalue: new Uint8Array(x.buffer), _rshape: [1, 1, n], _rdtype: "float32" };
      const call = async () => {
        const got = method === "echo" ? await svc.echo(nd)
          : (await svc.execute({ model_name: "identity_fp32", inputs: [nd], _rkwargs: true })).OUTPUT0;
        const bytes = got._rvalue.byteLength;
        if (bytes !== n * 4) throw new Error(`${label}: ${bytes} bytes came back, not ${n * 4}`);
      };
      await call();
      const times = [];
      for (let i = 0; i < (n > 1 << 19 ? 5 : 10); i++) {
        const t = performance.now();
        await call();
        times.push((performance.now() - t) / 1000);
      }
      times.sort((a, b) => a - b);
      out[label] = times[Math.floor(times.length / 2)];
    }
    await server.disconnect();
    return out;
  }, { hyphaUrl, serviceId, method, sizes: JSON.parse(sizesJson) });
  console.log("RESULT " + JSON.stringify(result));
} catch (err) {
  console.log("ERROR " + (err && err.message || err));
  process.exitCode = 1;
} finally {
  await browser.close();
  site.close();
}
