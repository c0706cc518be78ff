import { synthStack } from "../synth";

describe("S3 ingest: data bucket, notification, ingest function and gateway endpoint policies", () => {
  const s = synthStack();
  const bucketArn = s.ref("aws_s3_bucket", "data-bucket/bucket", "arn");
  const bucketId = s.ref("aws_s3_bucket", "data-bucket/bucket", "id");
  const functionArn = `arn:${s.aws.partition}:lambda:${s.aws.region}:${s.aws.accountId}:function:lambda-rds-iam-dev-ingest`;
  const ingestGroup = s.ref("aws_security_group", "ingest/security-group", "id");
  const documentOf = (path: string) => s.data("aws_iam_policy_document", path).statement as Record<string, any>[];

  it("keeps a private, versioned data bucket per environment, encrypted with its own key that only S3 may use for it", () => {
    expect(s.resource("aws_s3_bucket", "data-bucket/bucket").bucket).toBe("lambda-rds-iam-dev-data-111111111111");
    expect(s.resource("aws_s3_bucket_versioning", "data-bucket/versioning").versioning_configuration).toEqual({ status: "Enabled" });
    expect(s.resource("aws_s3_bucket_public_access_block", "data-bucket/public-access-block")).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(s.resource("aws_s3_bucket_server_side_encryption_configuration", "data-bucket/encryption").rule).toEqual([
      {
        apply_server_side_encryption_by_default: {
          sse_algorithm: "aws:kms",
          kms_master_key_id: s.ref("aws_kms_key", "data-bucket/key", "arn"),
        },
        bucket_key_enabled: true,
      },
    ]);
    const usage = documentOf("data-bucket/key-policy").find((statement) => statement.sid === "UseThroughS3ForDataBucket")!;
    expect(usage.condition).toEqual([
      { test: "StringEquals", variable: "kms:ViaService", values: [`s3.${s.aws.region}.${s.aws.dnsSuffix}`] },
      {
        test: "ArnLike",
        variable: "kms:EncryptionContext:aws:s3:arn",
        values: [
          `arn:${s.aws.partition}:s3:::lambda-rds-iam-dev-data-111111111111`,
          `arn:${s.aws.partition}:s3:::lambda-rds-iam-dev-data-111111111111/*`,
        ],
      },
    ]);
    expect(s.resource("aws_kms_key", "data-bucket/key").enable_key_rotation).toBe(true);
  });

  it("refuses requests without TLS and expires processed objects and superseded versions", () => {
    expect(documentOf("data-bucket/policy-document")).toContainEqual(
      expect.objectContaining({
        effect: "Deny",
        resources: [bucketArn, `${bucketArn}/*`],
        condition: [{ test: "Bool", variable: "aws:SecureTransport", values: ["false"] }],
      }),
    );
    expect(s.resource("aws_s3_bucket_lifecycle_configuration", "data-bucket/lifecycle").rule).toEqual([
      expect.objectContaining({ status: "Enabled", expiration: [{ days: 30 }], noncurrent_version_expiration: [{ noncurrent_days: 7 }] }),
    ]);
  });

  it("invokes the ingest function for objects created under incoming/ only, allowed for this bucket of this account only", () => {
    const notification = s.resource("aws_s3_bucket_notification", "ingest/incoming-notification");
    expect(notification.bucket).toBe(bucketId);
    expect(notification.lambda_function).toEqual([
      {
        lambda_function_arn: s.ref("aws_lambda_function", "ingest/function", "arn"),
        events: ["s3:ObjectCreated:*"],
        filter_prefix: "incoming/",
      },
    ]);
    expect(notification.depends_on).toEqual([s.ref("aws_lambda_permission", "ingest/invoke-from-s3", "id").slice(2, -4)]);
    expect(s.resource("aws_lambda_permission", "ingest/invoke-from-s3")).toMatchObject({
      action: "lambda:InvokeFunction",
      principal: "s3.amazonaws.com",
      function_name: s.ref("aws_lambda_function", "ingest/function", "function_name"),
      source_arn: bucketArn,
      source_account: s.aws.accountId,
    });
  });

  it("gives the ingest role incoming/ to read and results/ to write, only from this function, keys only through S3, no s3:* anywhere", () => {
    const fromThisFunction = [{ test: "ArnEquals", variable: "lambda:SourceFunctionArn", values: [functionArn] }];
    expect(documentOf("ingest/role/data-bucket-objects-document")).toEqual([
      {
        sid: "ReadIncoming",
        actions: ["s3:GetObject", "s3:GetObjectVersion"],
        resources: [`${bucketArn}/incoming/*`],
        condition: fromThisFunction,
      },
      { sid: "WriteResults", actions: ["s3:PutObject"], resources: [`${bucketArn}/results/*`], condition: fromThisFunction },
      {
        sid: "DataKeyThroughS3",
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        resources: [s.ref("aws_kms_key", "data-bucket/key", "arn")],
        condition: [{ test: "StringEquals", variable: "kms:ViaService", values: [`s3.${s.aws.region}.${s.aws.dnsSuffix}`] }],
      },
    ]);
    expect(Object.keys(s.policiesOf("ingest/role/role")).sort()).toEqual([
      "ingest/role/data-bucket-objects",
      "ingest/role/role/rds-connect-ingest",
      "ingest/role/send-failures",
      "ingest/role/vpc-and-tracing",
      "ingest/role/write-logs",
    ]);
    // Only the TLS-only bucket policy denies s3:*; nothing in the stack allows it.
    const allowed = Object.values(s.json.data.aws_iam_policy_document).flatMap((document) =>
      document.statement.filter((statement: any) => statement.effect !== "Deny"),
    );
    expect(allowed.flatMap((statement: any) => statement.actions ?? []).filter((action: string) => /^s3:\*$|^\*$/.test(action))).toEqual(
      [],
    );
    expect(documentOf("ingest/role/role/rds-connect-ingest-document")[0].resources).toEqual([
      `arn:${s.aws.partition}:rds-db:${s.aws.region}:${s.aws.accountId}:dbuser:${s.ref("aws_db_instance", "database/instance", "resource_id")}/ingest`,
    ]);
  });

  it("connects as its own database user, named with the data bucket in its environment", () => {
    expect(s.resource("aws_lambda_function", "ingest/function").environment.variables).toMatchObject({
      DB_USER: "ingest",
      DATA_BUCKET: s.ref("aws_s3_bucket", "data-bucket/bucket", "bucket"),
    });
    expect(JSON.parse(s.resource("aws_lambda_invocation", "bootstrap/run").input).grants).toHaveProperty("ingest");
  });

  it("reaches only the database port and S3's prefix list on 443: its reads go through the gateway endpoint", () => {
    expect(
      s
        .rulesOf("egress", ingestGroup)
        .map((rule) => [rule.referenced_security_group_id ?? rule.prefix_list_id, rule.from_port, rule.cidr_ipv4]),
    ).toEqual([
      [s.ref("aws_security_group", "database/security-group", "id"), 3306, undefined],
      [s.ref("aws_vpc_endpoint", "network/s3-endpoint", "prefix_list_id"), 443, undefined],
    ]);
    // Every subnet the function runs in is routed through a table that carries the S3 endpoint.
    const endpointTables: string[] = s.resource("aws_vpc_endpoint", "network/s3-endpoint").route_table_ids;
    const associations = Object.values(s.all("aws_route_table_association"));
    const subnets: string[] = s.resource("aws_lambda_function", "ingest/function").vpc_config.subnet_ids;
    expect(subnets).toHaveLength(2);
    for (const subnet of subnets) {
      const tables = associations
        .filter((association) => association.subnet_id === subnet)
        .map((association) => association.route_table_id);
      expect(tables).toHaveLength(1);
      expect(endpointTables).toContain(tables[0]);
    }
  });

  it("admits only this environment's bucket through the S3 endpoint, and only this account's tables through the DynamoDB one", () => {
    expect(s.resource("aws_vpc_endpoint_policy", "endpoint-policies/s3")).toEqual({
      vpc_endpoint_id: s.ref("aws_vpc_endpoint", "network/s3-endpoint", "id"),
      policy: s.dataRef("aws_iam_policy_document", "endpoint-policies/s3-document", "json"),
    });
    const [s3] = documentOf("endpoint-policies/s3-document");
    expect(s3.resources).toEqual([bucketArn, `${bucketArn}/*`]);
    expect(s3.effect).toBeUndefined();
    expect(s3.actions).not.toContain("s3:*");
    const [dynamodb] = documentOf("endpoint-policies/dynamodb-document");
    expect(dynamodb.condition).toEqual([{ test: "StringEquals", variable: "aws:ResourceAccount", values: [s.aws.accountId] }]);
    expect(s.resource("aws_vpc_endpoint_policy", "endpoint-policies/dynamodb").vpc_endpoint_id).toBe(
      s.ref("aws_vpc_endpoint", "network/dynamodb-endpoint", "id"),
    );
  });

  it("signs for RDS Proxy as its own user when the proxy is on", () => {
    const proxied = synthStack({ database: { proxy: true } });
    expect(proxied.resource("aws_lambda_function", "ingest/function").environment.variables.DB_HOST).toBe(
      proxied.ref("aws_db_proxy", "database-proxy/proxy", "endpoint"),
    );
  });
});
