/**
 * The project's cdktf CLI as `npm run diff|deploy|destroy -- [stacks] [options]` runs it (`npm run
 * synth` runs the app without it: scripts/cli/synth.ts), on any platform: HashiCorp's telemetry and cdktf's update check off (offline they only print errors);
 * bad configuration reported once, before the CLI starts (the CLI would echo the app's message a
 * second time); and for diff, deploy and destroy, Terraform (or OpenTofu, TERRAFORM_BINARY_NAME)
 * checked against the version the stacks require, and a state stack whose state moved to its bucket
 * (state.selfHosted) refused while its local state file is still here. Synth needs neither.
 */
import { resolve } from "node:path";
import { stackConfigsOrExit } from "../../src/config/environments";
import { cliEntry } from "./cli-entry";
import { terraformProblem } from "./terraform-version";
import { unmigratedStateProblem } from "../state/unmigrated-state";

const TERRAFORM_COMMANDS = ["diff", "deploy", "destroy"];
const [command = "", ...args] = process.argv.slice(2);

process.env.CHECKPOINT_DISABLE = "1";
process.env.DISABLE_VERSION_CHECK = "true";
const configs = stackConfigsOrExit(process.env);
if (TERRAFORM_COMMANDS.includes(command)) {
  const problem = terraformProblem(command, process.env) ?? unmigratedStateProblem(command, args, configs, resolve(__dirname, "../.."));
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
}

// The CLI runs in this process: a second Node would add its start-up time to every command.
const cli = cliEntry().path;
process.argv = [process.argv[0], cli, command, ...args];
require(cli);
