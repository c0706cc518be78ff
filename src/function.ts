import { Construct } from "constructs";
import { AssetType, TerraformAsset } from "cdktf";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsIamPolicyDocument } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { FunctionConfig } from "./config";
import { Database } from "./database";
import { ExecutionRole } from "./execution-role";
import { FunctionBundle, bundleFunction } from "./function-bundle";
import { Network } from "./network";

export interface DatabaseFunctionProps {
  /** Prefix of the function name, e.g. "lambda-rds-iam-dev"; the name is `<prefix>-<source>`. */
  readonly namePrefix: string;
  /** Directory that holds functions/ and node_modules/. */
  readonly projectRoot: string;
  readonly config: FunctionConfig;
  readonly network: Network;
  readonly database: Database;
  readonly role: ExecutionRole;
}

/**
 * A Node.js Lambda built from functions/<source>/, running in the private tier and talking to the
 * database as `config.dbUser` with IAM auth tokens. Its security group reaches only the database
 * port and HTTPS; its environment names the database and holds no secret.
 */
export class DatabaseFunction extends Construct {
  readonly function: LambdaFunction;
  readonly securityGroup: SecurityGroup;
  readonly logGroup: CloudwatchLogGroup;
  readonly bundle: FunctionBundle;
  /** Allows invoking this function and nothing else; the platform team attaches it to the callers' groups or roles. */
  readonly invokePolicy: IamPolicy;

  constructor(scope: Construct, id: string, props: DatabaseFunctionProps) {
    super(scope, id);
    const { config, database, network, role } = props;
    const functionName = `${props.namePrefix}-${config.source}`;

    this.bundle = bundleFunction({ projectRoot: props.projectRoot, source: config.source, runtime: config.runtime });
    const code = new TerraformAsset(this, "code", {
      path: this.bundle.zipPath,
      type: AssetType.FILE,
      // Content hash, so the asset path (and the plan) changes only when the code does.
      assetHash: this.bundle.sha256Hex,
    });

    this.logGroup = new CloudwatchLogGroup(this, "log-group", {
      name: `/aws/lambda/${functionName}`,
      retentionInDays: config.logRetentionDays,
    });

    this.securityGroup = new SecurityGroup(this, "security-group", {
      name: functionName,
      description: `Lambda ${functionName}: outbound to the database and HTTPS only`,
      vpcId: network.vpc.id,
      tags: { Name: functionName },
    });
    new VpcSecurityGroupEgressRule(this, "egress-database", {
      securityGroupId: this.securityGroup.id,
      referencedSecurityGroupId: database.securityGroup.id,
      ipProtocol: "tcp",
      fromPort: database.port,
      toPort: database.port,
      description: "MySQL to the database",
    });
    new VpcSecurityGroupEgressRule(this, "egress-https", {
      securityGroupId: this.securityGroup.id,
      cidrIpv4: "0.0.0.0/0",
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      description: "HTTPS to AWS APIs through the NAT gateway and gateway endpoints",
    });
    const ingress = database.allowConnectionsFrom(this.securityGroup, `MySQL from Lambda ${functionName}`);

    const grants = [role.networkPolicy, role.grantLogWriting(this.logGroup), database.grantConnect(role.role, config.dbUser)];

    this.function = new LambdaFunction(this, "function", {
      functionName,
      description: `${functionName}: items API on RDS MySQL with IAM database authentication`,
      role: role.arn,
      runtime: config.runtime,
      architectures: ["arm64"],
      handler: "index.handler",
      filename: code.path,
      sourceCodeHash: this.bundle.sha256Base64,
      memorySize: config.memoryMb,
      timeout: config.timeoutSeconds,
      reservedConcurrentExecutions: config.reservedConcurrency,
      tracingConfig: { mode: "Active" },
      loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
      vpcConfig: {
        subnetIds: network.subnets.private.map((subnet) => subnet.id),
        securityGroupIds: [this.securityGroup.id],
      },
      environment: {
        variables: {
          DB_HOST: database.address,
          DB_PORT: String(database.port),
          DB_NAME: database.databaseName,
          DB_USER: config.dbUser,
        },
      },
      // Lambda validates ENI permissions at creation; the first invocation needs its log group, grant and ingress.
      dependsOn: [...grants, this.logGroup, ingress],
    });

    // Callers reach the database only through the function: user -> Lambda by this policy, Lambda -> RDS by the role.
    const invoke = new DataAwsIamPolicyDocument(this, "invoke-document", {
      statement: [
        {
          sid: "InvokeThisFunction",
          actions: ["lambda:InvokeFunction"],
          resources: [this.function.arn, `${this.function.arn}:*`],
        },
      ],
    });
    this.invokePolicy = new IamPolicy(this, "invoke-policy", {
      name: `${functionName}-invoke`,
      description: `Invoke the ${functionName} function (its versions and aliases included) and nothing else`,
      policy: invoke.json,
    });
  }

  get functionName(): string {
    return this.function.functionName;
  }

  get arn(): string {
    return this.function.arn;
  }
}
