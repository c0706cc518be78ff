import { App } from "cdktf";
import { ServiceStack, StateStack } from "lambda-rds-iam";
import { stackConfigsOrExit } from "./src/config/environments";

// This service's configuration (its functions and environments) is validated in full before any construct exists, so bad input writes nothing.
const configs = stackConfigsOrExit(process.env);
const app = new App();
for (const config of configs) {
  const service = new ServiceStack(app, config.environment, { config, projectRoot: __dirname });
  new StateStack(app, `${config.environment}-state`, { config, service });
}
app.synth();
