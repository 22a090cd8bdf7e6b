/** Channel names and the rules that cover them. */
import type { ChannelRule } from "../core/config/types.js";

/** A rule with its pattern compiled once. */
export interface CompiledRule {
  rule: ChannelRule;
  test: RegExp;
}

/** Printable, no spaces, 1 to 200 characters. */
const NAME = /^[^\s\p{Cc}]{1,200}$/u;

/** True for a well-formed channel name. */
export function isChannelName(name: unknown): name is string {
  return typeof name === "string" && NAME.test(name);
}

/** Compiles `*` globs into anchored regular expressions. */
export function compileRules(rules: ChannelRule[]): CompiledRule[] {
  return rules.map((rule) => ({
    rule,
    test: new RegExp(
      `^${rule.match
        .split("*")
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    ),
  }));
}

/** The first rule that covers `name`, or null. */
export function ruleFor(rules: CompiledRule[], name: string): ChannelRule | null {
  for (const r of rules) if (r.test.test(name)) return r.rule;
  return null;
}
