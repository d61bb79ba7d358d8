// The checks an ImJoy app (or a second plugin) runs against the Triton-Client plugin, from JavaScript.
// Plain script, no DOM: the app page loads it with a script tag, the caller plugin with importScripts.
// Results are recorded for the test to compare with values it computes itself; nothing is checked here.
const now = () => performance.now() / 1000;

function ndarray(typed, shape) {
  const dtype = { Int32Array: "int32", Float32Array: "float32", Uint8Array: "uint8", Uint16Array: "uint16" }[typed.constructor.name];
  return { _rtype: "ndarray", _rvalue: typed.buffer, _rshape: shape, _rdtype: dtype };
}
function values(nd) {  // an ndarray coming back: ArrayBuffer or a typed-array view
  const T = { int32: Int32Array, float32: Float32Array, uint8: Uint8Array, uint16: Uint16Array }[nd._rdtype];
  const v = nd._rvalue;
  const buf = v instanceof ArrayBuffer ? v : v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
  return { dtype: nd._rdtype, shape: nd._rshape, values: Array.from(new T(buf)) };
}
async function attempt(R, name, fn, limit = 60) {
  const t = now();
  try {
    const value = await Promise.race([fn(), new Promise((_, rej) =>
      setTimeout(() => rej(new Error(`no answer within ${limit} s`)), limit * 1000))]);
    R[name] = { ok: true, value, seconds: now() - t };
  } catch (e) {
    R[name] = { ok: false, error: String(e && (e.message || e)), seconds: now() - t };
  }
  R.steps.push(name);
  return R[name];
}

// The checks, run against the plugin's api object (from the app, or from a second plugin).
async function runTritonChecks(triton, cors, fresh) {
  const R = { steps: [] };
  const a = new Int32Array(16).map((_, i) => i), b = new Int32Array(16).fill(3);
  if (fresh) await attempt(R, "before_configure", () => triton.list_models(), 30);
  await attempt(R, "configure", () => triton.configure({ triton_url: cors, _rkwargs: true }));
  await attempt(R, "list_models", () => triton.list_models());
  await attempt(R, "get_config", () => triton.get_config("add_sub"));
  await attempt(R, "execute_positional", async () => {
    const out = await triton.execute("add_sub", [ndarray(a, [16]), ndarray(b, [16])]);
    return { OUTPUT0: values(out.OUTPUT0), OUTPUT1: values(out.OUTPUT1) };
  });
  await attempt(R, "execute_object", async () => {
    const out = await triton.execute({ model_name: "add_sub", inputs: { INPUT0: ndarray(a, [16]), INPUT1: ndarray(b, [16]) },
                                       select_outputs: ["OUTPUT1"], _rkwargs: true });
    return { keys: Object.keys(out).sort(), OUTPUT1: values(out.OUTPUT1) };
  });
  await attempt(R, "execute_float", async () => {
    const x = new Float32Array([0.5, -1.25, 3.0, 1e-3, 2.5, 6.0]);
    const out = await triton.execute("identity_fp32", [ndarray(x, [1, 2, 3])]);
    return Object.fromEntries(Object.entries(out).filter(([k]) => !k.startsWith("__")).map(([k, v]) => [k, values(v)]));
  });
  await attempt(R, "execute_json", () => triton.execute({ model_name: "cellpose-python",
      inputs: [ndarray(new Float32Array(12).map((_, i) => i), [1, 3, 4]), { diameter: 30, threshold: 5.5 }], _rkwargs: true }).then(
      (out) => ({ mask: values(out.mask), info: out.info })));
  await attempt(R, "sequence", async () => {
    const id = await triton.sequence_start({ model_name: "sequence_accumulate", _rkwargs: true });
    const one = (v) => ndarray(new Int32Array([v]), [1]);
    const s1 = await triton.sequence_step(id, [one(5)]);
    const s2 = await triton.sequence_step({ sequence_id: id, inputs: [one(7)], _rkwargs: true });
    const listed = await triton.list_sequences();
    const s3 = await triton.sequence_end(id, [one(1)]);
    const after = await triton.list_sequences();
    return { id, sums: [s1, s2, s3].map((s) => values(s.OUTPUT).values[0]), listed: listed.length, after: after.length };
  });
  await attempt(R, "stream", async () => {  // a callback per event; false stops the stream (and the model)
    const tag = "imjoy" + Math.random().toString(16).slice(2);
    const tokens = [];
    const summary = await triton.generate_stream({ model_name: "cancellable_stream",
      inputs: { TAG: tag, COUNT: 100000, DELAY: 0.02 },
      on_event: { _rintf: true, on_event: (event) => { tokens.push(event.TOKEN); return tokens.length < 3; } },
      _rkwargs: true });
    return { tag, tokens, summary };
  });
  if (fresh) await attempt(R, "execute_16mb", async () => {  // 16 MB from JavaScript through the plugin and back
    const n = 4 << 20, x = new Float32Array(n);
    x[0] = 1.5; x[n >> 1] = 7; x[n - 1] = -2.5;
    const times = [];
    let out;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      out = await triton.execute("identity_fp32", [ndarray(x, [4, 1024, 1024])]);
      times.push(performance.now() - t);
    }
    const v = out.OUTPUT0._rvalue;
    const y = v instanceof ArrayBuffer ? new Float32Array(v) : new Float32Array(v.buffer, v.byteOffset, v.byteLength / 4);
    return { shape: out.OUTPUT0._rshape, dtype: out.OUTPUT0._rdtype, length: y.length, first: y[0], middle: y[n >> 1],
             last: y[n - 1], ms: times.sort((p, q) => p - q)[1] };
  }, 180);
  await attempt(R, "unknown_model", () => triton.execute("no_such_model", [ndarray(a, [16])]), 30);
  await attempt(R, "missing_field", () => triton.execute({ inputs: [ndarray(a, [16])], _rkwargs: true }), 30);
  await attempt(R, "unknown_field", () => triton.execute({ model_name: "add_sub", inputs: [], colour: "red", _rkwargs: true }), 30);
  return R;
}
