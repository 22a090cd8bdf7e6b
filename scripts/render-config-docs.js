// npm run docs: writes docs/config.md from the config schema's descriptions.
import { writeFileSync } from "node:fs";
import { renderConfigDocs } from "../dist/src/core/config/render-docs.js";

writeFileSync(new URL("../docs/config.md", import.meta.url), renderConfigDocs());
console.log("docs/config.md written");
