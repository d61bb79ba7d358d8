// Runs bioengine_webapp.mjs under Node with npm hypha-rpc. Prints "RESULT <json>".
// usage: node --experimental-websocket bioengine_webapp_node.mjs <node_modules dir> <hypha url>
import path from "node:path";
import { pathToFileURL } from "node:url";
import { bioengineWebApp } from "./bioengine_webapp.mjs";

const [modules, serverUrl] = process.argv.slice(2);
const { hyphaWebsocketClient } = await import(pathToFileURL(path.join(modules, "hypha-rpc", "dist", "hypha-rpc-websocket.mjs")).href);
try {
  console.log("RESULT " + JSON.stringify(await bioengineWebApp(hyphaWebsocketClient, serverUrl)));
} catch (err) {
  console.log("ERROR " + ((err && err.stack) || err));
  process.exitCode = 1;
}
process.exit();
