import { ConfigError, type SourcePosition } from "../errors.js";
import { normalizeConfig } from "./normalize.js";
import { type KeyPath, keyPathText } from "./problems.js";
import type { Config, UserConfig } from "./types.js";
import { validateUserConfig } from "./validate.js";

/**
 * Validates and normalises a user config from any adapter. Throws a
 * `ConfigError` listing every problem, each placed in the file when `locate` can.
 */
export function buildConfig(
  value: unknown,
  ctx: { baseDir: string; source: string | null },
  locate?: (p: KeyPath) => SourcePosition,
): Config {
  const place = (p: KeyPath) => (locate ? { position: locate(p) } : {});
  const schemaProblems = validateUserConfig(value);
  if (schemaProblems.length > 0) {
    throw new ConfigError(
      "ERR_CONFIG_INVALID",
      schemaProblems.map((p) => ({ key: keyPathText(p.path), message: p.message, ...place(p.path) })),
    );
  }
  const { config, problems } = normalizeConfig(value as UserConfig, ctx);
  if (problems.length > 0) {
    throw new ConfigError(
      "ERR_CONFIG_INVALID",
      problems.map((p) => ({ key: keyPathText(p.path), message: p.message, ...place(p.path) })),
    );
  }
  return config;
}
