// Copies non-TypeScript assets that the built code needs into dist/ (none yet beyond what src holds).
import { cpSync, existsSync } from "node:fs";

for (const dir of ["src/inspect/ui"]) {
  if (existsSync(dir)) cpSync(dir, `dist/${dir}`, { recursive: true });
}
