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
  const service = new ServiceStack(app, config.environment, { config, projectRoot: __dirname });
  new StateStack(app, `${config.environment}-state`, { config, service });
}
app.synth();
