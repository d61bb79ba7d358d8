// A JavaScript web-app calling a service that several replicas registered under one id: each call asks hypha
// for the least loaded replica (get_service with mode "select:min:get_load") and runs a 50 ms model there.
// Prints "RESULT <json>": which replica answered each call and whether every answer was right.
// usage: node --experimental-websocket replicas_client.mjs <node_modules dir> <hypha url> <workspace> <token> <calls>
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, serverUrl, workspace, token, calls] = process.argv.slice(2);
const { hyphaWebsocketClient } = await import(pathToFileURL(path.join(modules, "hypha-rpc", "dist", "hypha-rpc-websocket.mjs")).href);
const server = await hyphaWebsocketClient.connectToServer({ server_url: serverUrl, workspace, token });
// A model that takes 50 ms: while four calls run, the replica running them reports a higher load than the other.
const delay = new Float32Array([0.05]);
const nd = (t) => ({ _rtype: "ndarray", _rvalue: new Uint8Array(t.buffer), _rshape: [1], _rdtype: "float32" });
const replicas = {};
let correct = 0;
const pending = [];
for (let i = 0; i < Number(calls); i++) {
  const svc = await server.getService("triton-client", { mode: "select:min:get_load" });
  replicas[svc.id] = (replicas[svc.id] || 0) + 1;
  pending.push(svc.execute({ model_name: "slow", inputs: [nd(delay)], _rkwargs: true }).then((out) => {
    const v = out.OUTPUT0._rvalue;
    const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : v;
    const answer = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    if (answer.length === 1 && answer[0] === delay[0]) correct += 1;
  }));
  if (pending.length >= 4) await Promise.all(pending.splice(0));  // four in flight at a time
}
await Promise.all(pending);
console.log("RESULT " + JSON.stringify({ replicas, correct }));
await server.disconnect();
process.exit(0);
