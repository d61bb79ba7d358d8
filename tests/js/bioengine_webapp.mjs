// The BioEngine web apps' calls, kept as those apps make them (hypha-rpc's websocket client; only the server URL
// is the test's): the model runner class connects with method_timeout 30 and name "client", gets
// public/triton-client, runs cellpose-python with decode_json, reads a model's rdf and runs it through
// bioengine-model-runner with serialization "imjoy", and the BioEngine README's example with an ArrayBuffer.
// Runs under Node (bioengine_webapp_node.mjs) and in a Chromium page (the same function).
export async function bioengineWebApp(hyphaWebsocketClient, serverUrl) {
  const out = {};
  const server = await hyphaWebsocketClient.connectToServer({ server_url: serverUrl, method_timeout: 30, name: "client" });
  try {
    const triton = await server.getService("public/triton-client");
    const toList = (nd) => {
      const raw = nd._rvalue instanceof ArrayBuffer ? new Uint8Array(nd._rvalue) : nd._rvalue;
      const buffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
      const Type = { uint16: Uint16Array, float32: Float32Array, uint8: Uint8Array }[nd._rdtype];
      return { dtype: nd._rdtype, shape: Array.from(nd._rshape), values: Array.from(new Type(buffer)) };
    };
    // runCellpose(array, additionalParameters)
    const pixels = new Float32Array([0, 1, 0.2, 0.9, 0, 3]);
    const array = { _rtype: "ndarray", _rvalue: new Uint8Array(pixels.buffer), _rshape: [1, 2, 3], _rdtype: "float32" };
    let ret = await triton.execute({ inputs: [array, { diameter: 30, threshold: 0.5 }], model_name: "cellpose-python", decode_json: true, _rkwargs: true });
    out.cellpose = { mask: toList(ret.mask), info: ret.info };
    // loadModelRdf(modelId): execute(modelId, undefined, true) -> ret.result.rdf
    ret = await triton.execute({ _rkwargs: true, inputs: [{ model_id: "affable-shark", inputs: null, return_rdf: true, weight_format: null }], model_name: "bioengine-model-runner", serialization: "imjoy" });
    out.rdf = ret.result.rdf;
    // submitTensor(tensor): resp.result.success, resp.result.outputs[0]
    const tensor = { _rtype: "ndarray", _rvalue: new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer), _rshape: [1, 1, 2, 2], _rdtype: "float32" };
    const resp = await triton.execute({ _rkwargs: true, inputs: [{ model_id: "affable-shark", inputs: [tensor], return_rdf: false, weight_format: null }], model_name: "bioengine-model-runner", serialization: "imjoy" });
    out.run = { success: resp.result.success, output: toList(resp.result.outputs[0]) };
    // the BioEngine README's JavaScript example: an ArrayBuffer as the ndarray's _rvalue
    const image = { _rtype: "ndarray", _rvalue: new ArrayBuffer(1 * 3 * 4 * 4), _rshape: [1, 3, 4, 4], _rdtype: "uint8" };
    try {
      const readme = await triton.execute({ inputs: [{ inputs: [image], model_id: "affable-shark" }], model_name: "bioengine-model-runner", serialization: "imjoy", _rkwargs: true });
      out.readme = { success: readme.result.success, output: toList(readme.result.outputs[0]) };
    } catch (err) {
      out.readme = { error: String((err && err.message) || err) };
    }
  } finally {
    await server.disconnect();
  }
  return out;
}
