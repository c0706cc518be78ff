// Registers cdktf's matchers (toHaveResourceWithProperties, ...) and brings their types into the program.
import { setupJest } from "cdktf/lib/testing/adapters/jest";
import { Testing } from "cdktf";
import { removeTempDirs, tempDir } from "./temp";

setupJest();
// Testing.app() would make an output directory in the temp directory per app and never remove it.
const app = Testing.app.bind(Testing);
Testing.app = (options = {}) => app({ outdir: tempDir("cdktf.out-"), ...options });
// cdktf's TERRAFORM_BINARY_NAME (how OpenTofu users run it) changes what `npm run deploy` and friends look
// for: tests that want it set it themselves, none inherits the caller's.
delete process.env.TERRAFORM_BINARY_NAME;
// Nothing a test file writes outlives it.
afterAll(removeTempDirs);
