// Registers cdktf's matchers (toHaveResourceWithProperties, ...) and brings their types into the program.
import { setupJest } from "cdktf/lib/testing/adapters/jest";

setupJest();
