import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The installed cdktf CLI's command, as its package.json's `bin` names it: `cdktf`, or `cdktn` after
 * the move to CDK Terrain (which rewrites the package name here). Started through this file, the CLI
 * calls itself by that name in its help, as when run by npx.
 */
export function cliEntry(): { name: string; path: string } {
  const manifest = require.resolve("cdktf-cli/package.json");
  const [[name, path]] = Object.entries(JSON.parse(readFileSync(manifest, "utf8")).bin as Record<string, string>);
  return { name, path: join(dirname(manifest), path) };
}
