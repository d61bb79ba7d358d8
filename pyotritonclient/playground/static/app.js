// The model playground: loads Pyodide and this package's wheel, then talks to Triton with the package's own
// client (pyotritonclient.playground.bridge). Images are decoded here, in the browser, into typed arrays;
// outputs come back as ndarrays ({_rtype: "ndarray", _rvalue: Uint8Array, _rshape, _rdtype}) and are drawn
// from their buffers. No numpy is needed in Pyodide.
const $ = (selector) => document.querySelector(selector);
const params = new URLSearchParams(location.search);
// Where code comes from is decided by whoever hosts the page (its data- attributes), never by the query string.
const PYODIDE = document.body.dataset.pyodide || "https://cdn.jsdelivr.net/pyodide/v0.27.7/full/";
const WHEEL = document.body.dataset.wheel || "pyotritonclient.whl";
const TOKEN = document.body.dataset.token || "";
const MODEL_CONTROL = document.body.dataset.modelControl !== "off";

// "pyotritonclient playground" passes /triton/ on to Triton only with the token of the page it served: every
// request this page (and the client in Pyodide, which uses fetch) makes there carries it.
if (TOKEN) {
  const nativeFetch = window.fetch.bind(window);
  window.fetch = (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input), location.href);
    if (url.origin === location.origin && (url.pathname === "/triton" || url.pathname.startsWith("/triton/"))) {
      const headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
      headers.set("X-Playground-Token", TOKEN);
      init = { ...init, headers };
    }
    return nativeFetch(input, init);
  };
}
const CORS_HELP = "https://github.com/oeway/pyotritonclient/blob/main/docs/cors.md";
const TYPED = { float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array };
const WIRE_TO_NUMPY = { FP32: "float32", FP64: "float64", INT8: "int8", INT16: "int16", INT32: "int32", INT64: "int64",
  UINT8: "uint8", UINT16: "uint16", UINT32: "uint32", UINT64: "uint64", BOOL: "bool", FP16: "float16" };
const state = { bridge: null, pyodide: null, url: "", model: null, images: {}, sequence: null };
window.PLAYGROUND = { ready: false, readyMs: null, state };

function message(text, kind = "info", help = false) {
  const box = $("#message");
  box.className = kind;
  box.textContent = text;
  if (help) {
    const link = document.createElement("a");
    link.href = CORS_HELP;
    link.textContent = " How to serve Triton to browsers (CORS)";
    link.target = "_blank";
    box.appendChild(link);
  }
}

function progress(fraction, label) {  // fraction null: busy without a known end
  const bar = $("#progress");
  bar.hidden = fraction === 1;
  if (fraction === null) bar.removeAttribute("value"); else bar.value = fraction;
  $("#progress-label").textContent = label || "";
}

async function fetchWithProgress(url, label) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  const total = Number(response.headers.get("content-length")) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    progress(total ? received / total : null, `${label}: ${(received / 1e6).toFixed(1)} MB`);
  }
  const out = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) { out.set(chunk, offset); offset += chunk.length; }
  return out;
}

async function start() {
  try {
    progress(null, "loading Python (Pyodide)");
    const { loadPyodide } = await import(new URL("pyodide.mjs", new URL(PYODIDE, location.href)).href);
    const [pyodide, wheel] = await Promise.all([
      loadPyodide({ indexURL: new URL(PYODIDE, location.href).href }),
      fetchWithProgress(WHEEL, "loading pyotritonclient"),
    ]);
    pyodide.unpackArchive(wheel, "wheel");
    state.pyodide = pyodide;
    state.bridge = pyodide.pyimport("pyotritonclient.playground.bridge");
    progress(1);
    window.PLAYGROUND.readyMs = performance.now();  // ms since the page started loading
    window.PLAYGROUND.ready = true;
    $("#connect").disabled = false;
    message(`Ready in ${(window.PLAYGROUND.readyMs / 1000).toFixed(1)} s. Type a Triton URL and connect.`);
    const remembered = localStorage.getItem("pyotritonclient.url");
    $("#url").value = params.get("url") || remembered || (document.body.dataset.triton ? new URL(document.body.dataset.triton, location.href).href : "");
  } catch (err) {
    progress(1);
    message(`Could not load the playground: ${err.message || err}`, "error");
  }
}

function toJs(proxy) {
  if (!proxy || typeof proxy.toJs !== "function") return proxy;  // (a plain value: true, a number)
  const value = proxy.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false });
  if (proxy.destroy) proxy.destroy();
  return value;
}

async function call(name, ...args) {
  const py = args.map((a) => (a !== null && typeof a === "object" ? state.pyodide.toPy(a) : a));
  const answer = toJs(await state.bridge[name](...py));
  for (const p of py) if (p && p.destroy) p.destroy();
  return answer;
}

function explain(answer) {  // an error answer in plain words
  const text = answer.kind === "UnavailableError"
    ? `Cannot reach the server: ${answer.error}`
    : answer.status ? `The server refused (HTTP ${answer.status}): ${answer.error}` : answer.error;
  message(text, "error", answer.kind === "UnavailableError");
}

async function connect() {
  const url = $("#url").value.trim();
  if (!url) return message("Type the URL of a Triton server first.", "error");
  message(`Connecting to ${url} ...`);
  const answer = await call("connect", url);
  if (answer.error) return explain(answer);
  state.url = url;
  localStorage.setItem("pyotritonclient.url", url);
  const meta = answer.metadata;
  $("#server").hidden = false;
  $("#server-meta").textContent = `${meta.name} ${meta.version} — extensions: ${(meta.extensions || []).join(", ")}`;
  showModels(answer.models);
  message(`Connected: ${answer.models.length} models.`, "ok");
}

function showModels(models) {
  const body = $("#models tbody");
  body.textContent = "";
  for (const model of models) {
    const row = body.insertRow();
    row.dataset.model = model.name;
    row.insertCell().textContent = model.name;
    row.insertCell().textContent = model.state || "";
    row.insertCell().textContent = (model.versions || []).join(", ");
    const actions = row.insertCell();
    const actionList = [["open", () => openModel(model.name)]];
    if (MODEL_CONTROL) actionList.push(["load", () => loadModel(model.name, false)], ["unload", () => loadModel(model.name, true)]);
    for (const [label, fn] of actionList) {
      const button = document.createElement("button");
      button.textContent = label;
      button.dataset.action = label;
      button.onclick = fn;
      actions.appendChild(button);
    }
  }
}

async function loadModel(name, unload) {
  message(`${unload ? "Unloading" : "Loading"} ${name} ...`);
  const answer = await call("load", state.url, name, unload);
  if (answer.error) return explain(answer);
  showModels(answer.models);
  message(`${name} ${unload ? "unloaded" : "loaded"}.`, "ok");
}

function shapeText(shape) { return "[" + shape.join(", ") + "]"; }

async function openModel(name) {
  const answer = await call("describe", state.url, name);
  if (answer.error) return explain(answer);
  state.model = answer;
  state.images = {};
  state.sequence = null;
  $("#model").hidden = false;
  $("#model-name").textContent = name;
  const io = $("#io tbody");
  io.textContent = "";
  for (const [kind, list] of [["input", answer.inputs], ["output", answer.outputs]]) {
    for (const t of list) {
      const row = io.insertRow();
      for (const text of [kind, t.name, t.datatype, shapeText(t.shape), t.optional ? "optional" : ""]) row.insertCell().textContent = text;
    }
  }
  const form = $("#inputs");
  form.textContent = "";
  for (const input of answer.inputs) form.appendChild(inputField(input));
  $("#run").hidden = answer.sequence || answer.decoupled;
  $("#sequence").hidden = !answer.sequence;
  $("#streaming").hidden = !answer.decoupled;
  $("#stream-out").hidden = true;
  $("#stream-out").textContent = "";
  $("#sequence-state").textContent = answer.sequence ? "no sequence yet: start one" : "";
  $("#outputs").textContent = "";
  message(`${name}: fill the inputs and run.`);
}

function inputField(input) {
  const box = document.createElement("fieldset");
  box.dataset.input = input.name;
  const legend = document.createElement("legend");
  legend.textContent = `${input.name} ${input.datatype} ${shapeText(input.shape)}${input.optional ? " (optional)" : ""}`;
  box.appendChild(legend);
  const text = document.createElement("textarea");
  text.rows = 2;
  text.placeholder = input.datatype === "BYTES" ? "text, or JSON" : "a number, or a JSON list of numbers";
  text.dataset.role = "text";
  box.appendChild(text);
  if (input.datatype !== "BYTES") {
    const file = document.createElement("input");
    file.type = "file";
    file.accept = "image/png,image/jpeg,.npy";
    file.dataset.role = "file";
    file.onchange = () => file.files[0] && takeFile(input, file.files[0]);
    const drop = document.createElement("div");
    drop.className = "drop";
    drop.textContent = "drop a PNG, JPEG or .npy here";
    drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
    drop.ondragleave = () => drop.classList.remove("over");
    drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove("over"); if (e.dataTransfer.files[0]) takeFile(input, e.dataTransfer.files[0]); };
    const layout = select("layout", [["auto", "layout: auto"], ["chw", "channels first (C,H,W)"], ["hwc", "channels last (H,W,C)"]]);
    const channels = select("channels", [["auto", "channels: auto"], ["1", "gray"], ["3", "RGB"], ["4", "RGBA"]]);
    const scale = select("scale", [["255", "values 0-255"], ["1", "values 0-1"]]);
    const info = document.createElement("div");
    info.dataset.role = "info";
    box.append(file, drop, layout, channels, scale, info);
  }
  return box;
}

function select(role, options) {
  const s = document.createElement("select");
  s.dataset.role = role;
  for (const [value, label] of options) { const o = document.createElement("option"); o.value = value; o.textContent = label; s.appendChild(o); }
  return s;
}

async function takeFile(input, file) {
  const info = document.querySelector(`fieldset[data-input="${input.name}"] [data-role=info]`);
  if (file.name.endsWith(".npy")) {
    state.images[input.name] = { npy: parseNpy(new Uint8Array(await file.arrayBuffer())) };
    info.textContent = `${file.name}: ${state.images[input.name].npy._rdtype} ${shapeText(state.images[input.name].npy._rshape)}`;
    return;
  }
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width; canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  state.images[input.name] = { rgba: context.getImageData(0, 0, bitmap.width, bitmap.height), canvas };
  info.textContent = `${file.name}: ${bitmap.width} x ${bitmap.height} pixels`;
}

function imageTensor(input, image, box) {
  // the image as the model wants it: dtype, channel layout, channel count and scale from the choices
  const dims = input.shape.slice(state.model.max_batch_size ? 1 : 0);
  const { width: w, height: h, data } = image.rgba;
  let layout = box.querySelector("[data-role=layout]").value;
  let channels = box.querySelector("[data-role=channels]").value;
  if (dims.length === 2) { layout = "hw"; channels = "1"; }
  if (layout === "auto") layout = [1, 3, 4].includes(dims[2]) && ![1, 3, 4].includes(dims[0]) ? "hwc" : "chw";
  if (channels === "auto") {
    const fixed = layout === "chw" ? dims[0] : dims[2];
    channels = String([1, 3, 4].includes(fixed) ? fixed : 3);
  }
  const c = Number(channels);
  const dtype = WIRE_TO_NUMPY[input.datatype];
  const Typed = TYPED[dtype];
  if (!Typed || dtype.includes("64") && dtype.startsWith("int")) throw new Error(`${input.name}: images cannot become ${input.datatype}`);
  const scale = box.querySelector("[data-role=scale]").value === "1" ? 1 / 255 : 1;
  const out = new Typed(w * h * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      for (let k = 0; k < c; k++) {
        const v = c === 1 ? 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2] : data[p + k];
        const index = layout === "hwc" ? (y * w + x) * c + k : k * w * h + y * w + x;
        out[index] = scale === 1 && Typed !== Float32Array && Typed !== Float64Array ? Math.round(v) : v * scale;
      }
    }
  }
  let shape = layout === "hw" ? [h, w] : layout === "hwc" ? [h, w, c] : [c, h, w];
  if (state.model.max_batch_size) shape = [1, ...shape];
  return { _rtype: "ndarray", _rvalue: new Uint8Array(out.buffer), _rshape: shape, _rdtype: dtype };
}

function textValue(input, text) {
  if (input.datatype === "BYTES") {
    try { const parsed = JSON.parse(text); return typeof parsed === "object" ? parsed : text; } catch { return text; }
  }
  let parsed;
  try { parsed = JSON.parse(text); } catch { throw new Error(`${input.name}: "${text.slice(0, 40)}" is not a number or a JSON list`); }
  const flat = [parsed].flat(Infinity);
  const dims = [];
  for (let v = parsed; Array.isArray(v); v = v[0]) dims.push(v.length);
  const dtype = WIRE_TO_NUMPY[input.datatype];
  const Typed = TYPED[dtype] || Float64Array;
  const typed = dtype.includes("int64") ? BigInt64Array.from(flat.map(BigInt)) : Typed.from(flat);
  return { _rtype: "ndarray", _rvalue: new Uint8Array(typed.buffer), _rshape: dims, _rdtype: dtype };
}

function collectInputs() {
  const inputs = {};
  for (const input of state.model.inputs) {
    const box = document.querySelector(`fieldset[data-input="${input.name}"]`);
    const image = state.images[input.name];
    const text = box.querySelector("[data-role=text]").value.trim();
    if (image && image.npy) inputs[input.name] = image.npy;
    else if (image) inputs[input.name] = imageTensor(input, image, box);
    else if (text) inputs[input.name] = textValue(input, text);
  }
  return inputs;
}

async function runModel(action = null) {
  let inputs;
  try { inputs = action === "start" ? null : collectInputs(); } catch (err) { return message(String(err.message || err), "error"); }
  const size = Object.values(inputs || {}).reduce((n, v) => n + (v && v._rvalue ? v._rvalue.byteLength : 0), 0);
  progress(null, size > 1e6 ? `sending ${(size / 1e6).toFixed(1)} MB ...` : "running ...");
  const answer = action
    ? await call("sequence", state.url, state.model.name, action, inputs)
    : await call("run", state.url, state.model.name, inputs);
  progress(1);
  if (answer.error) return explain(answer);
  if (action === "start") {
    $("#sequence-state").textContent = `sequence ${answer.sequence_id} started: 0 steps`;
    return message("Sequence started: send steps.", "ok");
  }
  if (action) $("#sequence-state").textContent = answer.steps == null ? "sequence ended" : `steps: ${answer.steps}`;
  $("#latency").textContent = `${answer.ms.toFixed(1)} ms`;
  window.PLAYGROUND.lastMs = answer.ms;
  showOutputs(answer.outputs);
  const what = action === "step" ? `step ${answer.steps} of the sequence` : action === "end" ? "the last step" : "";
  message(`Ran ${state.model.name}${what ? ` (${what})` : ""} in ${answer.ms.toFixed(1)} ms.`, "ok");
}

function streamInputs() {  // a stream's inputs are JSON values (Triton's generate endpoint): numbers, lists, text
  const inputs = {};
  for (const input of state.model.inputs) {
    const text = document.querySelector(`fieldset[data-input="${input.name}"] [data-role=text]`).value.trim();
    if (!text) continue;
    if (input.datatype === "BYTES") inputs[input.name] = text;
    else try { inputs[input.name] = JSON.parse(text); } catch { throw new Error(`${input.name}: "${text.slice(0, 40)}" is not a number or a JSON list`); }
  }
  return inputs;
}

async function streamModel() {  // the events as they come: each output's text on a line of its own
  const out = $("#stream-out");
  out.hidden = false;
  out.textContent = "";
  $("#stream").disabled = true;
  $("#stop").disabled = false;
  message(`Streaming ${state.model.name} ...`);
  const show = (event) => {
    const values = Object.entries(event).filter(([k]) => k !== "model_name" && k !== "model_version");
    out.textContent += values.map(([, v]) => (typeof v === "string" ? v : JSON.stringify(v))).join(" ") + "\n";
  };
  let inputs;
  try { inputs = streamInputs(); } catch (err) { $("#stream").disabled = false; $("#stop").disabled = true; return message(String(err.message || err), "error"); }
  const answer = await call("stream", state.url, state.model.name, inputs, show);
  $("#stream").disabled = false;
  $("#stop").disabled = true;
  if (answer.error) return explain(answer);
  window.PLAYGROUND.lastMs = answer.ms;
  message(`${answer.stopped ? "Stopped" : "Streamed"} ${state.model.name}: ${answer.events} events in ${answer.ms.toFixed(0)} ms.`, "ok");
}

function asTyped(nd) {
  const v = nd._rvalue;
  const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : v;
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return nd._rdtype === "bool" ? new Uint8Array(copy) : new (TYPED[nd._rdtype] || Float32Array)(copy);
}

function labelColor(v) {  // label 0 is background (black); the others get distinct, stable colours
  if (v === 0) return [0, 0, 0];
  const h = (v * 137.508) % 360, s = 0.75, l = 0.55;
  const f = (n) => { const k = (n + h / 30) % 12; return Math.round(255 * (l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1)))); };
  return [f(0), f(8), f(4)];
}
window.PLAYGROUND.labelColor = labelColor;

function showOutputs(outputs) {
  const box = $("#outputs");
  box.textContent = "";
  for (const [name, value] of Object.entries(outputs)) {
    const item = document.createElement("section");
    item.dataset.output = name;
    const title = document.createElement("h3");
    item.appendChild(title);
    if (value && value._rtype === "ndarray") {
      const data = asTyped(value);
      const numbers = Array.from(data, Number);
      let min = Infinity, max = -Infinity;
      for (const n of numbers) { if (n < min) min = n; if (n > max) max = n; }
      title.textContent = `${name}: ${value._rdtype} ${shapeText(value._rshape)} min ${min} max ${max}`;
      const shape = value._rshape.filter((d, i) => !(d === 1 && i < value._rshape.length - 2));
      if (shape.length === 2 || (shape.length === 3 && ([1, 3, 4].includes(shape[0]) || [1, 3, 4].includes(shape[2])))) {
        item.appendChild(drawArray(numbers, shape, value._rdtype, min, max));
      }
      if (numbers.length <= 64) {
        const table = document.createElement("table");
        table.className = "values";
        const row = table.insertRow();
        for (const n of numbers) row.insertCell().textContent = String(n);
        item.appendChild(table);
      }
      item.appendChild(download(`${name}.npy`, npyBytes(value)));
    } else {
      title.textContent = `${name}: ${Array.isArray(value) ? "list" : typeof value}`;
      const pre = document.createElement("pre");  // the JSON as text (what tests and copy-paste read) ...
      pre.textContent = JSON.stringify(value, null, 2);
      const tree = jsonTree(value, name);  // ... and as a tree to fold and unfold
      tree.className = "tree";
      item.append(tree, pre, download(`${name}.json`, new TextEncoder().encode(JSON.stringify(value))));
    }
    box.appendChild(item);
  }
}

function jsonTree(value, label, depth = 0) {
  if (value === null || typeof value !== "object") {
    const leaf = document.createElement("div");
    leaf.textContent = `${label}: ${JSON.stringify(value)}`;
    return leaf;
  }
  const node = document.createElement("details");
  node.open = depth < 2;
  const summary = document.createElement("summary");
  const entries = Object.entries(value);
  summary.textContent = `${label} ${Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`}`;
  node.appendChild(summary);
  for (const [key, child] of entries.slice(0, 500)) node.appendChild(jsonTree(child, key, depth + 1));
  return node;
}

function drawArray(numbers, shape, dtype, min, max) {
  const hwc = shape.length === 3 && [1, 3, 4].includes(shape[2]) && ![1, 3, 4].includes(shape[0]);
  const [h, w, c] = shape.length === 2 ? [shape[0], shape[1], 1] : hwc ? shape : [shape[1], shape[2], shape[0]];
  const labels = !dtype.startsWith("float") && c === 1 && max < 65536 && new Set(numbers).size <= 256;
  const canvas = document.createElement("canvas");
  canvas.width = w; canvas.height = h;
  canvas.dataset.kind = labels ? "labels" : "image";
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(w, h);
  const span = max > min ? max - min : 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const at = (k) => numbers[hwc || c === 1 ? (y * w + x) * c + k : k * w * h + y * w + x];
      const p = (y * w + x) * 4;
      if (labels) {
        const [r, g, b] = labelColor(at(0));
        pixels.data.set([r, g, b, 255], p);
      } else {
        for (let k = 0; k < 3; k++) pixels.data[p + k] = Math.round(255 * (at(c === 1 ? 0 : Math.min(k, c - 1)) - min) / span);
        pixels.data[p + 3] = 255;
      }
    }
  }
  context.putImageData(pixels, 0, 0);
  const wrap = document.createElement("div");
  wrap.className = "picture";
  wrap.appendChild(canvas);
  const source = Object.values(state.images).find((i) => i.canvas && i.canvas.width === w && i.canvas.height === h);
  if (labels && source) {  // the labels over the input image
    const overlay = document.createElement("canvas");
    overlay.width = w; overlay.height = h;
    overlay.dataset.kind = "overlay";
    const o = overlay.getContext("2d");
    o.drawImage(source.canvas, 0, 0);
    o.globalAlpha = 0.5;
    o.drawImage(canvas, 0, 0);
    wrap.appendChild(overlay);
  }
  return wrap;
}

function npyBytes(nd) {
  const codes = { float32: "<f4", float64: "<f8", int8: "|i1", int16: "<i2", int32: "<i4", int64: "<i8", uint8: "|u1",
    uint16: "<u2", uint32: "<u4", uint64: "<u8", bool: "|b1", float16: "<f2" };
  const shape = nd._rshape.length === 1 ? `(${nd._rshape[0]},)` : `(${nd._rshape.join(", ")})`;
  let header = `{'descr': '${codes[nd._rdtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const v = nd._rvalue instanceof ArrayBuffer ? new Uint8Array(nd._rvalue) : nd._rvalue;
  const out = new Uint8Array(10 + header.length + v.byteLength);
  out.set([0x93, 78, 85, 77, 80, 89, 1, 0, header.length & 255, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(v, 10 + header.length);
  return out;
}

function parseNpy(bytes) {
  const length = bytes[8] + (bytes[9] << 8);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + length));
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(".npy files in Fortran order are not supported");
  const dtype = { "<f4": "float32", "<f8": "float64", "|i1": "int8", "<i2": "int16", "<i4": "int32", "<i8": "int64",
    "|u1": "uint8", "<u2": "uint16", "<u4": "uint32", "<u8": "uint64", "|b1": "bool" }[descr];
  if (!dtype) throw new Error(`.npy dtype ${descr} is not supported`);
  return { _rtype: "ndarray", _rvalue: bytes.slice(10 + length), _rshape: shape, _rdtype: dtype };
}

function download(name, bytes) {
  const link = document.createElement("a");
  link.textContent = `download ${name}`;
  link.download = name;
  link.href = URL.createObjectURL(new Blob([bytes]));
  return link;
}

$("#inputs").addEventListener("submit", (event) => event.preventDefault());  // no inline handlers: the CSP forbids them
$("#connect").onclick = connect;
$("#url").onkeydown = (e) => { if (e.key === "Enter") connect(); };
$("#run").onclick = () => runModel();
$("#seq-start").onclick = () => runModel("start");
$("#seq-step").onclick = () => runModel("step");
$("#seq-end").onclick = () => runModel("end");
$("#stream").onclick = () => streamModel();
$("#stop").onclick = () => { call("stop", state.url, state.model.name); };
start();
