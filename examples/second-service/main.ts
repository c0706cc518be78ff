import { App } from "cdktf";
import { ServiceStack, StateStack, parseStackConfig } from "lambda-rds-iam";
import { FUNCTIONS } from "./functions";

const settings = { project: "orders", environment: "dev", accountId: "333333333333", database: { databaseName: "orders" } };
const config = parseStackConfig(settings, "orders dev", { functions: FUNCTIONS, projectRoot: __dirname });
const app = new App();
const service = new ServiceStack(app, "dev", { config, projectRoot: __dirname });
new StateStack(app, "dev-state", { config, service });
app.synth();
