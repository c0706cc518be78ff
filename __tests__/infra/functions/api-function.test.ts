import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { Testing } from "cdktf";
import { bundleFunction } from "../../../src/functions/function-bundle";
import { checkout, projectRoot, synthStack } from "../synth";
import { tempDir } from "../temp";

interface CentralEntry {
  name: string;
  madeByOs: number;
  unixMode: number;
  dosTime: number;
  dosDate: number;
}

/** Reads a zip's central directory (APPNOTE 4.3.12) to check what unzip tools and Lambda will see. */
function centralDirectory(zip: Buffer): CentralEntry[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries: CentralEntry[] = [];
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(offset)).toBe(0x02014b50);
    const nameLength = zip.readUInt16LE(offset + 28);
    entries.push({
      madeByOs: zip.readUInt8(offset + 5),
      dosTime: zip.readUInt16LE(offset + 12),
      dosDate: zip.readUInt16LE(offset + 14),
      unixMode: zip.readUInt32LE(offset + 38) >>> 16,
      name: zip.toString("utf8", offset + 46, offset + 46 + nameLength),
    });
    offset += 46 + nameLength + zip.readUInt16LE(offset + 30) + zip.readUInt16LE(offset + 32);
  }
  return entries;
}

describe("ApiFunction", () => {
  const s = synthStack();
  const fn = s.resource("aws_lambda_function", "api/function");
  const functionGroup = s.ref("aws_security_group", "api/security-group", "id");

  it("runs Node.js 22 on arm64 with active tracing, reserved concurrency and a deliberate timeout and memory", () => {
    expect(Testing.synth(s.stack)).toHaveResourceWithProperties(LambdaFunction, {
      function_name: "lambda-rds-iam-dev-api",
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      tracing_config: { mode: "Active" },
      reserved_concurrent_executions: 10,
      timeout: 15,
      memory_size: 256,
      role: s.ref("aws_iam_role", "api/role/role", "arn"),
    });
  });

  it("runs in the private subnets with its own security group, so it never has a public IP", () => {
    expect(fn.vpc_config).toEqual({
      subnet_ids: [s.ref("aws_subnet", "network/private-subnet-0", "id"), s.ref("aws_subnet", "network/private-subnet-1", "id")],
      security_group_ids: [functionGroup],
    });
  });

  it("tells the handler where the database is and nothing secret", () => {
    expect(fn.environment.variables).toEqual({
      DB_HOST: s.ref("aws_db_instance", "database/instance", "address"),
      DB_PORT: "3306",
      DB_NAME: "app",
      DB_USER: "app_user",
    });
  });

  it("logs as JSON to an encrypted /aws/lambda/<name> group with retention that Terraform creates first", () => {
    expect(s.resource("aws_cloudwatch_log_group", "api/log-group")).toEqual({
      name: "/aws/lambda/lambda-rds-iam-dev-api",
      retention_in_days: 14,
      kms_key_id: s.ref("aws_kms_key", "logs/key", "arn"),
    });
    expect(fn.logging_config).toMatchObject({ log_format: "JSON", log_group: s.ref("aws_cloudwatch_log_group", "api/log-group", "name") });
    const dependsOn = (type: string, path: string) => s.ref(type, path, "id").slice(2, -4);
    expect(fn.depends_on).toEqual(
      expect.arrayContaining([
        dependsOn("aws_cloudwatch_log_group", "api/log-group"),
        dependsOn("aws_iam_role_policy", "api/role/vpc-and-tracing"),
        dependsOn("aws_iam_role_policy", "api/role/write-logs"),
        dependsOn("aws_iam_role_policy", "api/role/role/rds-connect-app_user"),
        s.ref("aws_vpc_security_group_ingress_rule", "database/ingress-from-api_security-group_88890CF2", "id").slice(2, -4),
      ]),
    );
  });

  it("may send only MySQL to the database's security group by default, and accepts nothing", () => {
    expect(s.resource("aws_security_group", "api/security-group")).toMatchObject({ vpc_id: s.ref("aws_vpc", "network/vpc", "id") });
    expect(s.resource("aws_security_group", "api/security-group").egress).toBeUndefined();
    const egress = s.rulesOf("egress", functionGroup);
    expect(egress).toEqual([
      {
        security_group_id: functionGroup,
        referenced_security_group_id: s.ref("aws_security_group", "database/security-group", "id"),
        ip_protocol: "tcp",
        from_port: 3306,
        to_port: 3306,
        description: "MySQL to the database",
      },
    ]);
    expect(s.rulesOf("ingress", functionGroup)).toEqual([]);
  });

  it("opens HTTPS only to the destinations the function's httpsEgress names: gateway endpoints by prefix list, the internet through the NAT", () => {
    const https = (extra: Record<string, string>) => ({ ip_protocol: "tcp", from_port: 443, to_port: 443, ...extra });
    const gateways = synthStack({ functions: { api: { httpsEgress: ["s3", "dynamodb"] } } });
    const group = gateways.ref("aws_security_group", "api/security-group", "id");
    expect(gateways.resource("aws_vpc_security_group_egress_rule", "api/egress-s3")).toEqual({
      security_group_id: group,
      prefix_list_id: gateways.ref("aws_vpc_endpoint", "network/s3-endpoint", "prefix_list_id"),
      ...https({ description: "HTTPS to S3 through the gateway endpoint only" }),
    });
    expect(gateways.resource("aws_vpc_security_group_egress_rule", "api/egress-dynamodb")).toEqual({
      security_group_id: group,
      prefix_list_id: gateways.ref("aws_vpc_endpoint", "network/dynamodb-endpoint", "prefix_list_id"),
      ...https({ description: "HTTPS to DynamoDB through the gateway endpoint only" }),
    });
    expect(gateways.rulesOf("egress", group).filter((rule) => rule.cidr_ipv4)).toEqual([]);

    const internet = synthStack({ functions: { api: { httpsEgress: ["internet"] } } });
    const internetGroup = internet.ref("aws_security_group", "api/security-group", "id");
    expect(internet.resource("aws_vpc_security_group_egress_rule", "api/egress-internet")).toEqual({
      security_group_id: internetGroup,
      cidr_ipv4: "0.0.0.0/0",
      ...https({ description: "HTTPS to AWS APIs and the internet through the NAT gateway" }),
    });
    expect(internet.rulesOf("egress", internetGroup)).toHaveLength(2);
  });

  it("makes no managed policy: the callers' invoke policy is the state stack's (invoke-policy.test.ts)", () => {
    expect(s.json.resource.aws_iam_policy).toBeUndefined();
  });

  it("deploys the bundle zip with its SHA-256 as source_code_hash, under a content-addressed asset path", () => {
    const { bundle } = s.stack.functions.api;
    const zip = readFileSync(bundle.zipPath);
    expect(fn.source_code_hash).toBe(createHash("sha256").update(zip).digest("base64"));
    expect(fn.filename).toMatch(new RegExp(`^assets/[^/]+/${createHash("sha256").update(zip).digest("hex")}/api\\.zip$`));
  });
});

describe("Function bundle", () => {
  const options = { source: "functions/api", runtime: "nodejs22.x" } as const;
  const first = bundleFunction({ ...options, projectRoot, reuseCached: false });
  const firstZip = readFileSync(first.zipPath);

  it("is byte-identical when built afresh from a checkout at another path, in another time zone", () => {
    const originalZone = process.env.TZ;
    try {
      process.env.TZ = "Asia/Seoul";
      const second = bundleFunction({ ...options, projectRoot: checkout(), reuseCached: false });
      expect(second.sha256Base64).toBe(first.sha256Base64);
      expect(second.bytes).toBe(firstZip.byteLength);
    } finally {
      process.env.TZ = originalZone;
    }
  });

  it("reuses the last build while its inputs are unchanged, and rebuilds when the code changes", () => {
    const root = checkout();
    expect(bundleFunction({ ...options, projectRoot: root }).sha256Hex).toBe(first.sha256Hex);
    appendFileSync(join(root, "functions/api/index.ts"), "\nexport const revision = 2;\n");
    const changed = bundleFunction({ ...options, projectRoot: root });
    expect(changed.sha256Hex).not.toBe(first.sha256Hex);
    expect(bundleFunction({ ...options, projectRoot: root, reuseCached: false }).sha256Hex).toBe(changed.sha256Hex);
  });

  it("holds one index.js with a fixed timestamp and mode 0644", () => {
    expect(centralDirectory(firstZip)).toEqual([
      { name: "index.js", madeByOs: 3, unixMode: 0o100644, dosTime: 0, dosDate: (0 << 9) | (1 << 5) | 1 },
    ]);
  });

  it("loads on its own, with no node_modules beside it, and carries the RDS signer and the MySQL driver", () => {
    const dir = tempDir("unzipped-");
    const { "index.js": code } = unzipSync(firstZip);
    writeFileSync(join(dir, "index.js"), code);
    const probe = `const m = require(${JSON.stringify(join(dir, "index.js"))}); process.stdout.write(typeof m.handler);`;
    expect(execFileSync(process.execPath, ["-e", probe], { cwd: dir, env: { PATH: process.env.PATH } }).toString()).toBe("function");
    const text = Buffer.from(code).toString("utf8");
    expect(text).toContain("rds-db");
    expect(text).toContain("mysql_clear_password");
  });

  it("fails with the fix when the source directory does not exist", () => {
    expect(() => bundleFunction({ ...options, source: "functions/missing", projectRoot })).toThrow(
      /function source "functions\/missing": .*functions\/missing\/index\.ts does not exist; set the function's source/,
    );
  });
});
