import { App } from "cdktf";
import { loadStackConfigs } from "./src/environments";
import { ServiceStack } from "./src/service-stack";

// Configuration is validated in full before any construct exists, so bad input writes nothing.
const configs = loadStackConfigs(process.env);
const app = new App();
for (const config of configs) {
  new ServiceStack(app, config.environment, { config, projectRoot: __dirname });
}
app.synth();
