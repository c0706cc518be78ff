import { ENVIRONMENTS } from "../../../src/config/environments";
import { synthApp } from "../synth";
import { describeEnvironmentRules } from "./environment-rules";

describe("every checked-in environment", () => {
  describeEnvironmentRules(synthApp());
});

// The checked-in settings themselves are the contract here: prod's are what keep its data.
describe("prod, as checked in", () => {
  const [prod] = synthApp().filter(({ name }) => name === "prod");

  it("protects its data: deletion protection, prevent_destroy on the database, its keys and the data bucket, a final snapshot", () => {
    expect(prod.config.database).toMatchObject({ deletionProtection: true, preventDestroy: true, skipFinalSnapshot: false, multiAz: true });
    expect(prod.config.kms.preventDestroy).toBe(true);
    expect(prod.config.dataBucket).toMatchObject({ preventDestroy: true, forceDestroy: false, accessLogs: true });
  });

  it("is deployed through its own role into its own account, behind RDS Proxy, across three zones with a NAT gateway each", () => {
    expect(prod.config.deployRoleArn).toBe(`arn:aws:iam::${prod.config.accountId}:role/lambda-rds-iam-deploy`);
    expect(prod.config.database.proxy).toBe(true);
    expect(prod.config.network).toMatchObject({ azCount: 3, natGateways: "per-az" });
  });

  it("keeps backups 30 days", () => {
    expect(ENVIRONMENTS.prod.database?.backupRetentionDays).toBe(30);
  });
});

describe("dev, as checked in", () => {
  const [dev] = synthApp().filter(({ name }) => name === "dev");

  it("is disposable and cheap: no protection, the data bucket destroyed with its objects, one NAT gateway, a micro instance", () => {
    expect(dev.config.database).toMatchObject({
      deletionProtection: false,
      preventDestroy: false,
      skipFinalSnapshot: true,
      multiAz: false,
    });
    expect(dev.config.dataBucket).toMatchObject({ forceDestroy: true, preventDestroy: false });
    expect(dev.config.network.natGateways).toBe("single");
    expect(dev.config.database.instanceClass).toBe("db.t4g.micro");
    expect(dev.config.deployRoleArn).toBeUndefined();
  });
});
