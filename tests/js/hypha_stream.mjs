// A JavaScript caller of the service's generate_stream over hypha-rpc (npm): reads a whole stream with
// for await, stops one early with break (which must stop the model on Triton), and catches an error the model
// sends after its first token. Prints "RESULT <json>".
// usage: node --experimental-websocket hypha_stream.mjs <node_modules dir> <hypha url> <service id> <tag> <tag>
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, serverUrl, serviceId, wholeTag, stoppedTag] = process.argv.slice(2);
const { hyphaWebsocketClient } = await import(pathToFileURL(path.join(modules, "hypha-rpc", "dist", "hypha-rpc-websocket.mjs")).href);

const out = {};
const server = await hyphaWebsocketClient.connectToServer({ server_url: serverUrl });
try {
  const svc = await server.getService(serviceId);
  out.whole = [];
  for await (const event of await svc.generate_stream({ model_name: "cancellable_stream", inputs: { TAG: wholeTag, COUNT: 5 }, _rkwargs: true })) {
    out.whole.push(event.TOKEN);
  }
  out.stopped = [];
  const long = { TAG: stoppedTag, COUNT: 100000, DELAY: 0.02 };
  for await (const event of await svc.generate_stream({ model_name: "cancellable_stream", inputs: long, _rkwargs: true })) {
    out.stopped.push(event.TOKEN);
    if (out.stopped.length === 3) break;
  }
  out.failed = [];
  try {
    for await (const event of await svc.generate_stream({ model_name: "cancellable_stream", inputs: { TAG: "", COUNT: 5, FAIL_AT: 1 }, _rkwargs: true })) {
      out.failed.push(event.TOKEN);
    }
    out.error = "no error";
  } catch (err) {
    out.error = String((err && err.message) || err);
  }
  out.load = await svc.get_load();
} finally {
  await server.disconnect();
}
console.log("RESULT " + JSON.stringify(out));
process.exit(0);
