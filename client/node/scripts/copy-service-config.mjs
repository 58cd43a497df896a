// Copies the project's client/service_config.json (the one service config
// every client loads) into dist/, where src/service-config.ts reads it.
import { copyFileSync, mkdirSync } from "node:fs";

const source = new URL("../../service_config.json", import.meta.url);
const dist = new URL("../dist/", import.meta.url);
mkdirSync(dist, { recursive: true });
copyFileSync(source, new URL("service_config.json", dist));
