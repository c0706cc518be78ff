// Registers cdktf's matchers (toHaveResourceWithProperties, ...) and brings their types into the program.
import { setupJest } from "cdktf/lib/testing/adapters/jest";
import { removeTempDirs } from "./temp";

setupJest();
// Nothing a test file writes outlives it.
afterAll(removeTempDirs);
