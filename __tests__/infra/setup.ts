// Registers cdktf's matchers (toHaveResourceWithProperties, ...) and brings their types into the program.
import { setupJest } from "cdktf/lib/testing/adapters/jest";
import { Testing } from "cdktf";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

setupJest();

// Testing.app() makes a temporary output directory per app and never removes it: the apps of a test
// file share one (they write nothing there unless fully synthesized), removed when the file is done.
const outdir = mkdtempSync(join(tmpdir(), "cdktf.outdir."));
const app = Testing.app.bind(Testing);
Testing.app = (options = {}) => app({ outdir, ...options });
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
