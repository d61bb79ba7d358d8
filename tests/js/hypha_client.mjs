// A JavaScript web-app's view of the service: hypha-rpc (npm) calls execute with an FP32 image ndarray
// and a JSON parameter, lists models, reads a config, runs a sequence (which a second connection may not
// touch) and collects the errors for an unknown model, a URL outside the allowlist and an oversized input.
// Prints "RESULT <json>".
// usage: node --experimental-websocket hypha_client.mjs <node_modules dir> <hypha url> <service id>
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, serverUrl, serviceId] = process.argv.slice(2);
const { hyphaWebsocketClient } = await import(pathToFileURL(path.join(modules, "hypha-rpc", "dist", "hypha-rpc-websocket.mjs")).href);

const ndarray = (typed, shape) => ({
  _rtype: "ndarray", _rvalue: new Uint8Array(typed.buffer), _rshape: shape,
  _rdtype: typed.constructor.name.replace("Array", "").toLowerCase(),
});
const values = (nd) => {
  const bytes = nd._rvalue instanceof ArrayBuffer ? new Uint8Array(nd._rvalue) : nd._rvalue;
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const Type = { uint16: Uint16Array, float32: Float32Array, int32: Int32Array }[nd._rdtype];
  return Array.from(new Type(buffer));
};

const errorOf = async (promise) => {
  try {
    await promise;
    return "no error";
  } catch (err) {
    return String((err && err.message) || err);
  }
};

const out = {};
const server = await hyphaWebsocketClient.connectToServer({ server_url: serverUrl });
try {
  const svc = await server.getService(serviceId);
  // image [1, 2, 3]: channel sum > threshold 0.5 -> mask
  const image = new Float32Array([0, 1, 0.2, 0.9, 0, 3]);
  const results = await svc.execute({ model_name: "cellpose-python", inputs: [ndarray(image, [1, 2, 3]), { diameter: 30, threshold: 0.5 }], _rkwargs: true });
  out.mask = { dtype: results.mask._rdtype, shape: results.mask._rshape, values: values(results.mask) };
  out.info = results.info;
  out.models = (await svc.list_models()).map((m) => m.name);
  out.config_inputs = (await svc.get_config({ model_name: "cellpose-python", _rkwargs: true })).input.map((i) => i.name);
  const seq = await svc.sequence_start({ model_name: "cellpose-train", _rkwargs: true });
  const step = (v) => [ndarray(new Float32Array([v, v, v, v]), [1, 2, 2]), ndarray(new Uint16Array([1, 1, 1, 1]), [2, 2]), { steps: 1 }];
  const s1 = await svc.sequence_step({ sequence_id: seq, inputs: step(1), _rkwargs: true });
  const s2 = await svc.sequence_step({ sequence_id: seq, inputs: step(2), _rkwargs: true });
  // another caller (a second connection, its own anonymous user) may not touch this sequence
  const other = await hyphaWebsocketClient.connectToServer({ server_url: serverUrl });
  try {
    const theirs = await other.getService(serviceId);
    out.other_caller = await errorOf(theirs.sequence_step({ sequence_id: seq, inputs: step(9), _rkwargs: true }));
  } finally {
    await other.disconnect();
  }
  const end = await svc.sequence_end({ sequence_id: seq, _rkwargs: true });
  out.sequence = [s1.info.flat()[0], s2.info.flat()[0], end.info.flat()[0]];
  out.unknown_model = await errorOf(svc.execute({ model_name: "no_such_model", inputs: [], _rkwargs: true }));
  out.not_allowed = await errorOf(svc.execute({ model_name: "add_sub", inputs: [], server_url: "http://169.254.169.254", _rkwargs: true }));
  const big = new Float32Array(600 * 600);  // 1.44 MB, over the service's 1 MB limit
  out.oversized = await errorOf(svc.execute({ model_name: "cellpose-python", inputs: [ndarray(big, [1, 600, 600])], _rkwargs: true }));
} finally {
  await server.disconnect();
}
console.log("RESULT " + JSON.stringify(out));
process.exit(0);
