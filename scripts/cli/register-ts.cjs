// @ts-check
/**
 * `node --require ./scripts/cli/register-ts.cjs file.ts`: lets Node load TypeScript modules. esbuild
 * strips the types of each module the first time its content is seen (no type check: that is
 * `npm run typecheck`), and the JavaScript is kept in node_modules/.cache, so an unchanged app
 * starts without loading a transpiler at all. Plain JavaScript: it is what makes the TypeScript run.
 *
 * No source maps: with Node's source-map support on, every stack trace cdktf records (one per
 * construct and token) is mapped, which costs about half a second per synth.
 */
"use strict";
const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const CACHE_DIR = join(__dirname, "..", "..", "node_modules", ".cache", "lambda-rds-iam", "ts");
/** @type {import("esbuild").TransformOptions} */
const OPTIONS = { loader: "ts", format: "cjs", target: "node20" };
// The output depends only on the source, these options and esbuild's version.
const SALT = JSON.stringify({ esbuild: JSON.parse(readFileSync(require.resolve("esbuild/package.json"), "utf8")).version, OPTIONS });

/** @param {string} source @param {string} filename */
function transpile(source, filename) {
  const cached = join(CACHE_DIR, `${createHash("sha256").update(SALT).update("\0").update(source).digest("hex")}.js`);
  try {
    return readFileSync(cached, "utf8");
  } catch {
    const { code } = require("esbuild").transformSync(source, { ...OPTIONS, sourcefile: filename });
    try {
      mkdirSync(CACHE_DIR, { recursive: true });
      const partial = `${cached}.${process.pid}.partial`;
      writeFileSync(partial, code);
      renameSync(partial, cached);
    } catch {
      // A read-only checkout still runs; it transpiles again next time.
    }
    return code;
  }
}

require.extensions[".ts"] = (module, filename) => {
  // @ts-expect-error Module#_compile is how every CommonJS loader hook hands Node the code of a file.
  module._compile(transpile(readFileSync(filename, "utf8"), filename), filename);
};
