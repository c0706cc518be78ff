/**
 * The careless edits the mutation audit (scripts/audit/mutations.ts) makes to the product code, one at a
 * time: each must make at least one test fail. Each is one exact text, found exactly once in one file,
 * replaced; when the code moves on and the text is gone, the audit fails and names the mutation, so the
 * list cannot rot silently. Each must type-check (the audit checks them all at once before it runs):
 * it is the tests' behaviour that is audited, not the compiler's. Add one when a test guards something
 * a careless edit could break.
 */
export interface Mutation {
  /** Short and unique: `--only <id>` runs this one. */
  readonly id: string;
  /** The mistake it stands for, in one line. */
  readonly mistake: string;
  /** Relative to the repository's root. */
  readonly file: string;
  /** Exact text that occurs exactly once in `file`. */
  readonly search: string;
  readonly replace: string;
  /**
   * The jest project whose tests must catch it.
   * @default "infra"
   */
  readonly project?: "infra" | "function";
  /**
   * Test files to run instead of the whole project (a project's slowest or a harness's): a narrower
   * run can only miss more, never catch more.
   * @default every test file of `project`
   */
  readonly paths?: readonly string[];
}

export const MUTATIONS: readonly Mutation[] = [
  // Configuration of the environments
  {
    id: "prod-log-retention",
    mistake: "prod's API log group keeps 14 days instead of a year",
    file: "src/config/environments.ts",
    search: "api: { memoryMb: 512, reservedConcurrency: 50, logRetentionDays: 365 }",
    replace: "api: { memoryMb: 512, reservedConcurrency: 50, logRetentionDays: 14 }",
  },
  {
    id: "prod-backups",
    mistake: "prod keeps 7 days of backups instead of 30",
    file: "src/config/environments.ts",
    search: "backupRetentionDays: 30,",
    replace: "backupRetentionDays: 7,",
  },
  {
    id: "prod-single-nat",
    mistake: "prod shares one NAT gateway across its zones",
    file: "src/config/environments.ts",
    search: 'natGateways: "per-az"',
    replace: 'natGateways: "single"',
  },
  // Database and its connections
  {
    id: "connect-any-user",
    mistake: "a function role gets rds-db:connect on every user of the database, `dbuser:<id>/*`",
    file: "src/database/database-instance.ts",
    search: "`dbuser:${resourceId}/${dbUser}`",
    replace: "`dbuser:${resourceId}/*`",
  },
  {
    id: "mysql-from-vpc-cidr",
    mistake: "3306 (and every group's ingress) admitted from the VPC CIDR instead of the functions' groups",
    file: "src/network/connections.ts",
    search: "      referencedSecurityGroupId: this.securityGroup.id,\n",
    replace: '      cidrIpv4: "10.0.0.0/16",\n',
  },
  {
    id: "db-tls-optional",
    mistake: "the database parameter group stops requiring TLS",
    file: "src/database/database-instance.ts",
    search: '{ name: "require_secure_transport", value: "1" }',
    replace: '{ name: "require_secure_transport", value: "0" }',
  },
  {
    id: "db-iam-auth-off",
    mistake: "IAM database authentication switched off",
    file: "src/database/database-instance.ts",
    search: "iamDatabaseAuthenticationEnabled: true,",
    replace: "iamDatabaseAuthenticationEnabled: false,",
  },
  {
    id: "db-public",
    mistake: "the database instance made publicly accessible",
    file: "src/database/database-instance.ts",
    search: "publiclyAccessible: false,",
    replace: "publiclyAccessible: true,",
  },
  {
    id: "proxy-users",
    mistake: "the proxy's users miss one function's user",
    file: "src/service-stack.ts",
    search: "dbUsers: Object.keys(grants),",
    replace: "dbUsers: Object.keys(grants).slice(1),",
  },
  {
    id: "proxy-tls-optional",
    mistake: "RDS Proxy accepts clients without TLS",
    file: "src/database/database-proxy.ts",
    search: "requireTls: true,",
    replace: "requireTls: false,",
  },
  // IAM
  {
    id: "role-boundary",
    mistake: "a role (the purge schedule's) loses its permissions boundary",
    file: "src/iam/permissions-boundary.ts",
    search: "    node.permissionsBoundary = this.policyArn;\n",
    replace: '    if (!node.node.path.endsWith("/schedule/role")) node.permissionsBoundary = this.policyArn;\n',
  },
  {
    id: "role-gains-action",
    mistake: "every function role (the API's first) gains an action it never uses",
    file: "src/functions/execution-role.ts",
    search: 'export const XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"] as const;',
    replace: 'export const XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules"] as const;',
  },
  {
    id: "lambda-trust-widened",
    mistake: "a function's role is trusted by EC2 as well as Lambda",
    file: "src/functions/execution-role.ts",
    search: 'identifiers: ["lambda.amazonaws.com"]',
    replace: 'identifiers: ["lambda.amazonaws.com", "ec2.amazonaws.com"]',
  },
  {
    id: "s3-grant-widened",
    mistake: "a function's S3 grant widened to the bucket's every key",
    file: "src/functions/triggers/s3-objects-trigger.ts",
    search: "resources: [`${dataBucket.arn}/${prefix}*`],",
    replace: "resources: [`${dataBucket.arn}/*`, `${dataBucket.arn}/${prefix}*`],",
  },
  {
    id: "ci-plan-trust",
    mistake: "the plan role trusts every ref and event of the repository, not only pull requests and main",
    file: "src/ci/ci-roles.ts",
    search: "`repo:${props.repository}:pull_request`,",
    replace: "`repo:${props.repository}:*`,",
  },
  {
    id: "ci-roles-unbounded",
    mistake: "the deploy role may change roles that do not carry the boundary",
    file: "src/ci/ci-roles.ts",
    search: "        resources: [serviceRoles],\n        condition: [withBoundary],\n",
    replace: "        resources: [serviceRoles],\n",
  },
  {
    id: "s3-invoke-any-bucket",
    mistake: "the ingest function may be invoked by any bucket of the account, not only the data bucket",
    file: "src/functions/triggers/s3-objects-trigger.ts",
    search: "      sourceArn: this.props.dataBucket.arn,\n",
    replace: "",
  },
  {
    id: "s3-trigger-any-prefix",
    mistake: "every object created in the data bucket invokes the ingest function, its results included",
    file: "src/functions/triggers/s3-objects-trigger.ts",
    search: "{ functionArn: fn.arn, prefix: this.props.prefix, permission }",
    replace: '{ functionArn: fn.arn, prefix: "", permission }',
  },
  // Alarms
  {
    id: "alarm-dropped",
    mistake: "a function's throttles alarm dropped (each function but the first)",
    file: "src/monitoring/function-alarms.ts",
    search: '    topic.alarm(this, "throttles", {',
    replace: '    if (id === "api") topic.alarm(this, "throttles", {',
  },
  // Storage and keys
  {
    id: "key-window",
    mistake: "a key's deletion window shortened to 7 days",
    file: "src/storage/kms-key.ts",
    search: "deletionWindowInDays: 30,",
    replace: "deletionWindowInDays: 7,",
  },
  {
    id: "key-rotation",
    mistake: "a key's yearly rotation switched off",
    file: "src/storage/kms-key.ts",
    search: "enableKeyRotation: true,",
    replace: "enableKeyRotation: false,",
  },
  {
    id: "bucket-tls",
    mistake: "the buckets' TLS-only policy no longer covers their objects",
    file: "src/storage/private-bucket.ts",
    search: 'denyInsecureTransport("s3", [s3Bucket.arn, `${s3Bucket.arn}/*`])',
    replace: 'denyInsecureTransport("s3", [s3Bucket.arn])',
  },
  {
    id: "logs-unencrypted",
    mistake: "log groups written without the logs key",
    file: "src/storage/log-encryption.ts",
    search: "retentionInDays: props.retentionDays, kmsKeyId: this.key.arn }",
    replace: "retentionInDays: props.retentionDays }",
  },
  {
    id: "failure-retention",
    mistake: "failed events kept 4 days (SQS's default) instead of 14",
    file: "src/functions/failure-queue.ts",
    search: "FAILURE_RETENTION_SECONDS = 14 * 24 * 3600;",
    replace: "FAILURE_RETENTION_SECONDS = 4 * 24 * 3600;",
  },
  // Outputs
  {
    id: "secret-output",
    mistake: "an output marked non-sensitive that carries the master user's secret",
    file: "src/service-stack.ts",
    search: 'output("db_port", String(this.database.port), "Port of the MySQL instance");',
    replace:
      'output("db_port", String(this.database.port), "Port of the MySQL instance");\n    output("db_master", this.database.masterUserSecretArn, "Master user");',
  },
  {
    id: "output-dropped",
    mistake: "a function's failure queue ARN no longer output, for every function but the one without a prefix",
    file: "src/service-stack.ts",
    search: 'output(`${outputPrefix}failure_queue_arn`, fn.failures.queue.arn, "ARN of that queue");',
    replace: 'if (outputPrefix === "") output(`${outputPrefix}failure_queue_arn`, fn.failures.queue.arn, "ARN of that queue");',
  },
  // Workflows and the scripts reviewers read
  {
    id: "ci-drops-environment",
    mistake: "the plan and deploy workflows' environment list drops the last environment",
    file: "scripts/ci/environments.ts",
    search: "include: Object.keys(environments).map(",
    replace: "include: Object.keys(environments).slice(0, -1).map(",
  },
  {
    id: "plan-workflow-matrix",
    mistake: "the plan workflow hard-codes dev instead of every environment",
    file: ".github/workflows/plan.yml",
    search: "      matrix: ${{ fromJSON(needs.environments.outputs.matrix) }}\n",
    replace: "      matrix:\n        include: [{ environment: dev, plan_role_variable: DEV_PLAN_ROLE_ARN }]\n",
  },
  {
    id: "deploy-parallel",
    mistake: "the deploy workflow applies environments side by side, prod not waiting for dev",
    file: ".github/workflows/deploy.yml",
    search: "max-parallel: 1",
    replace: "max-parallel: 2",
  },
  {
    id: "apply-unprotected",
    mistake: "the apply job no longer waits for its GitHub environment's reviewers",
    file: ".github/workflows/deploy-environment.yml",
    search: "    timeout-minutes: 90\n    environment: ${{ inputs.environment }}\n",
    replace: "    timeout-minutes: 90\n",
  },
  {
    id: "diagram-edge",
    mistake: "a diagram edge dropped: the schedule's undelivered events to its dead-letter queue",
    file: "scripts/diagram/diagram-graph.ts",
    search:
      '      if (deadLetters) this.edges.push({ from: idOf(schedule), to: idOf(deadLetters), kind: "event", label: "undelivered" });\n',
    replace:
      '      if (deadLetters && fn === deadLetters) this.edges.push({ from: idOf(schedule), to: idOf(deadLetters), kind: "event", label: "undelivered" });\n',
  },
  {
    id: "plan-comment-iam-types",
    mistake: "the plan comment stops counting an IAM row type (only roles and policies are IAM)",
    file: "scripts/stacks/security-rules.ts",
    search: 'type.startsWith("aws_iam_")',
    replace: "/^aws_iam_(role|policy)$/.test(type)",
  },
  // The functions' own code
  {
    id: "tls-unverified",
    mistake: "the token sent over TLS without verifying the server's certificate",
    file: "functions/shared/database-settings.ts",
    search: "rejectUnauthorized: true, verifyIdentity: true",
    replace: "rejectUnauthorized: false, verifyIdentity: true",
    project: "function",
    paths: ["__tests__/function/database.test.ts"],
  },
  {
    id: "user-without-ssl",
    mistake: "the bootstrap creates IAM users without REQUIRE SSL",
    file: "functions/migrate/bootstrap.ts",
    search: "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL\"",
    replace: "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'\"",
    project: "function",
    paths: ["__tests__/function/bootstrap.test.ts"],
  },
];
