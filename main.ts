import { App } from "cdktf";
import { ConfigError } from "./src/config";
import { loadStackConfigs } from "./src/environments";
import { ServiceStack } from "./src/service-stack";
import { StateStack } from "./src/state";

function configsOrExit() {
  try {
    return loadStackConfigs(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

// Configuration is validated in full before any construct exists, so bad input writes nothing.
const configs = configsOrExit();
const app = new App();
for (const config of configs) {
  new StateStack(app, `${config.environment}-state`, config);
  new ServiceStack(app, config.environment, { config, projectRoot: __dirname });
}
app.synth();
