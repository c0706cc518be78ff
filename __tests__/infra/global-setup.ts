import { createSynthCache } from "./synth-cache";

/** Before any infra test: the run's cache of synthesized stacks, which test files in every worker share. */
export default createSynthCache;
