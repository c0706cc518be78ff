// Registers cdktf's matchers (toHaveResourceWithProperties, ...) and brings their types into the program.
import { setupJest } from "cdktf/lib/testing/adapters/jest";
import { Testing } from "cdktf";
import { removeTempDirs, tempDir } from "./temp";

setupJest();
// Testing.app() would make an output directory in the temp directory per app and never remove it.
const app = Testing.app.bind(Testing);
Testing.app = (options = {}) => app({ outdir: tempDir("cdktf.out-"), ...options });
// Nothing a test file writes outlives it.
afterAll(removeTempDirs);
