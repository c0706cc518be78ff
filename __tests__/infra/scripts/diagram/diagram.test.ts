import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { type Diagram, diagramOf } from "../../../../scripts/diagram/diagram-graph";
import { toMermaid, toSvg } from "../../../../scripts/diagram/diagram-render";
import { SynthesizedStack } from "../../../../scripts/stacks/synthesized-stack";
import type { ServiceStack } from "../../../../src/service-stack";
import { parseServiceConfig } from "../../../../src/config/environments";
import { HttpApiInvokePolicy } from "../../../../src/api/http-api-invoke-policy";
import type { HttpTrigger } from "../../../../src/functions/triggers/http-trigger";
import { MINIMAL, type Synthesized, projectRoot, serviceStack, synthStack, synthStateStack, synthesizedJson } from "../../synth";

const diagramOfStack = (stack: ServiceStack) => diagramOf(new SynthesizedStack(stack.node.id, synthesizedJson(stack)))!;
const diagramOfSynthesized = (name: string, s: Synthesized) => diagramOf(new SynthesizedStack(name, s.raw))!;
const labelOf = (diagram: Diagram, id: string) => diagram.nodes.find((node) => node.id === id)?.label[0];
/** "api λ lambda-rds-iam-dev-api -> RDS mysql 8.4: tcp 3306", by node names. */
const edgesOf = (diagram: Diagram, kind: Diagram["edges"][number]["kind"]) =>
  diagram.edges
    .filter((edge) => edge.kind === kind)
    .map((edge) => `${labelOf(diagram, edge.from)} -> ${labelOf(diagram, edge.to)}: ${edge.label}`)
    .sort();

describe("diagram of a service stack", () => {
  // One read of the run's shared synthesis for every rule below.
  const synthesized = synthStack();
  const dev = diagramOfSynthesized("dev", synthesized);

  it("draws the VPC with its three tiers, a subnet per zone in each, the gateways and the endpoints", () => {
    expect(dev.groups.map((group) => [group.id, group.label, group.parent])).toEqual([
      ["vpc", "VPC 10.0.0.0/16", undefined],
      ["tier_public", "public tier", "vpc"],
      ["tier_private", "private tier", "vpc"],
      ["tier_isolated", "isolated tier", "vpc"],
      ["aws", "AWS services, outside the VPC", undefined],
    ]);
    const placed = (kind: string) =>
      dev.nodes.filter((node) => node.kind === kind).map((node) => `${node.group}: ${node.label.join(" / ")}`);
    expect(placed("subnet").sort()).toEqual([
      "tier_isolated: isolated subnet, zone a / 10.0.128.0/19",
      "tier_isolated: isolated subnet, zone b / 10.0.160.0/19",
      "tier_private: private subnet, zone a / 10.0.64.0/19",
      "tier_private: private subnet, zone b / 10.0.96.0/19",
      "tier_public: public subnet, zone a / 10.0.0.0/19",
      "tier_public: public subnet, zone b / 10.0.32.0/19",
    ]);
    expect(placed("nat-gateway")).toEqual(["tier_public: NAT gateway / zone a"]);
    expect(placed("internet-gateway")).toEqual(["vpc: Internet gateway"]);
    expect(placed("gateway-endpoint").sort()).toEqual([
      "vpc: dynamodb gateway endpoint / routes of: private, isolated",
      "vpc: s3 gateway endpoint / routes of: private, isolated",
    ]);
    expect(placed("interface-endpoint")).toEqual(["tier_private: secretsmanager endpoint / interface, private DNS"]);
    expect(edgesOf(dev, "route")).toEqual([
      "Internet gateway -> Internet: ",
      "NAT gateway -> Internet gateway: 0.0.0.0/0",
      "private subnet, zone a -> NAT gateway: 0.0.0.0/0",
      "private subnet, zone b -> NAT gateway: 0.0.0.0/0",
      "s3 gateway endpoint -> S3 bucket: ",
    ]);
  });

  // The functions and grants come from the synthesized JSON, so these rules hold for any function the stack gains.
  const byId: Record<string, any> = synthesized.json.resource.aws_lambda_function;
  const functions = Object.values(byId);
  /** The function a reference like `${aws_lambda_function.<id>.arn}` names. */
  const referenced = (reference: string) => byId[/^\$\{aws_lambda_function\.([^.]+)\./.exec(reference)?.[1] ?? ""];
  const label = (fn: { function_name: string }) => `λ ${fn.function_name}`;
  /** The database users a function's role may connect as, read from its inline policies' rds-db:connect statements. */
  const connectsAs = (fn: { role: string }): string[] => {
    const s = synthesized;
    const roleName = fn.role.replace(/\.arn\}$/, ".name}");
    return Object.values(s.all("aws_iam_role_policy"))
      .filter((policy) => policy.role === roleName)
      .flatMap((policy) => {
        const document = /^\$\{data\.aws_iam_policy_document\.([^.]+)\.json\}$/.exec(policy.policy)?.[1];
        return document ? s.json.data.aws_iam_policy_document[document].statement : [];
      })
      .filter((statement: { actions: string[] }) => statement.actions.includes("rds-db:connect"))
      .flatMap((statement: { resources: string[] }) => statement.resources.map((arn) => arn.split("/").at(-1)!));
  };

  it("places every function in the private tier, with its runtime and memory, and the database in the isolated tier, with no proxy when it is off", () => {
    const placed = (kind: string) =>
      dev.nodes.filter((node) => node.kind === kind).map((node) => `${node.group}: ${node.label.join(" / ")}`);
    expect(functions.length).toBeGreaterThan(0);
    expect(placed("function").sort()).toEqual(
      functions.map((fn) => `tier_private: ${label(fn)} / ${fn.runtime}, ${fn.memory_size} MB`).sort(),
    );
    // The database's label is what reviewers read: exact.
    expect(placed("database")).toEqual(["tier_isolated: RDS mysql 8.4 / lambda-rds-iam-dev / db.t4g.micro, single-AZ, IAM auth"]);
    expect(placed("proxy")).toEqual([]);
  });

  it("draws, from the security-group rules, every function's path to the database on its port, and no way to the internet", () => {
    for (const fn of functions) {
      expect(edgesOf(dev, "network")).toContain(`${label(fn)} -> RDS mysql 8.4: tcp 3306`);
      expect(edgesOf(dev, "network").filter((edge) => edge.startsWith(`${label(fn)} -> Internet`))).toEqual([]);
    }
  });

  it("draws every rds-db:connect grant as an IAM edge from its function to the database, naming the user", () => {
    const grants = functions.flatMap((fn) => connectsAs(fn).map((user) => `${label(fn)} -> RDS mysql 8.4: rds-db:connect as ${user}`));
    expect(grants.length).toBeGreaterThan(0);
    expect(edgesOf(dev, "iam").filter((edge) => edge.includes("rds-db:connect"))).toEqual(grants.sort());
  });

  it("draws every function's failure queue: the grant to send to it and the on-failure event", () => {
    const configs = Object.values(synthesized.all("aws_lambda_function_event_invoke_config"));
    const withQueue = configs.filter((config) => config.destination_config?.on_failure).map((config) => referenced(config.function_name));
    expect(withQueue.length).toBeGreaterThan(0);
    for (const fn of withQueue) {
      expect(edgesOf(dev, "event")).toContain(`${label(fn)} -> SQS queue: on failure`);
      expect(edgesOf(dev, "iam")).toContain(`${label(fn)} -> SQS queue: sqs:SendMessage`);
    }
    expect(edgesOf(dev, "event").filter((edge) => edge.endsWith("SQS queue: on failure"))).toHaveLength(withQueue.length);
  });

  it("draws the bootstrap's read of the master secret through the Secrets Manager endpoint", () => {
    expect(edgesOf(dev, "iam")).toContain("λ lambda-rds-iam-dev-migrate -> Secrets Manager secret: secretsmanager:GetSecretValue");
    expect(edgesOf(dev, "network")).toContain("λ lambda-rds-iam-dev-migrate -> secretsmanager endpoint: tcp 443");
  });

  it("draws the pipeline of the seeds: the data bucket notifying the ingest function, which reaches S3 through the gateway endpoint, and the failure queue", () => {
    const notifications = Object.values(synthesized.all("aws_s3_bucket_notification")).flatMap(
      (notification) => notification.lambda_function,
    );
    expect(notifications.length).toBeGreaterThan(0);
    for (const target of notifications) {
      expect(edgesOf(dev, "event")).toContain(
        `S3 bucket -> ${label(referenced(target.lambda_function_arn))}: ${target.events.join(", ")} ${target.filter_prefix}*`,
      );
    }
    // Egress to the endpoint's prefix list, then the endpoint's route: the only way from the ingest function to the bucket.
    const path = ["λ lambda-rds-iam-dev-ingest -> s3 gateway endpoint: tcp 443 (prefix list)", "s3 gateway endpoint -> S3 bucket: "];
    expect([...edgesOf(dev, "network"), ...edgesOf(dev, "route")]).toEqual(expect.arrayContaining(path));
  });

  it("draws each HTTP trigger's API with every route and its authorization, the function the routes invoke, and the policies that let callers call which routes", async () => {
    const config = parseServiceConfig({ ...MINIMAL }, "test");
    const triggered = config.functions.filter((fn) => fn.trigger.kind === "http");
    expect(triggered.length).toBeGreaterThan(0);
    for (const { name, trigger } of triggered) {
      if (trigger.kind !== "http") continue;
      const apiName = `lambda-rds-iam-dev-${name}`;
      const keys = trigger.routes.map((route) => `${route.method} ${route.path}`);
      const node = dev.nodes.find((candidate) => candidate.kind === "api" && candidate.label[0] === `HTTP API ${apiName}`);
      expect(node).toMatchObject({ group: "aws", label: [`HTTP API ${apiName}`, ...keys.map((key) => `${key} (AWS_IAM)`)] });
      const title = `HTTP API ${apiName}`;
      expect(edgesOf(dev, "network").filter((edge) => edge.includes(title))).toEqual([`Internet -> ${title}: HTTPS, SigV4-signed`]);
      expect(edgesOf(dev, "event").filter((edge) => edge.startsWith(title))).toEqual([
        `${title} -> λ ${apiName}: invokes on ${keys.join(", ")}`,
      ]);
      // The callers' policies are the state stack's: none of them is drawn here.
      expect(edgesOf(dev, "iam").filter((edge) => edge.includes(`${title}:`))).toEqual([]);
    }
    for (const picture of [toMermaid(dev), await toSvg(dev)]) expect(picture).toContain("GET /items/{id} (AWS_IAM)");
  });

  it("draws the policies of the stack that let callers call an API's routes, with the routes they allow", () => {
    const stack = serviceStack();
    const { api } = stack.functions.api.trigger as HttpTrigger;
    new HttpApiInvokePolicy(stack, "read-policy", {
      name: "items-read",
      apiName: api.name,
      executionArn: api.api.executionArn,
      routes: api.routes,
      access: "read",
    });
    const diagram = diagramOfStack(stack);
    const reads = api.routes.filter((route) => route.method === "GET").map((route) => `GET ${route.path.replace(/\{[^}]+\}/g, "*")}`);
    expect(edgesOf(diagram, "iam").filter((edge) => edge.includes("HTTP API"))).toEqual([
      `may call -> HTTP API ${api.name}: execute-api:Invoke ${reads.sort().join(", ")}`,
    ]);
    expect(diagram.nodes.find((node) => node.kind === "api-caller")?.label).toEqual(["may call", "read-policy/policy"]);
  });

  it("puts RDS Proxy between the API function and the database when it is on", () => {
    const prod = diagramOfStack(serviceStack({ database: { proxy: true } }));
    expect(prod.nodes.filter((node) => node.kind === "proxy").map((node) => [node.group, node.label])).toEqual([
      ["tier_isolated", ["RDS Proxy", "lambda-rds-iam-dev", "IAM auth, TLS"]],
    ]);
    // Every declared function connects through the proxy, each as its own user.
    const functions = parseServiceConfig({ ...MINIMAL, database: { proxy: true } }, "test").functions;
    const lambda = (name: string) => `λ lambda-rds-iam-dev-${name}`;
    expect(
      [...edgesOf(prod, "network"), ...edgesOf(prod, "iam")].filter((edge) => /RDS (Proxy|mysql)/.test(edge) && !edge.includes("migrate")),
    ).toEqual([
      "RDS Proxy -> RDS mysql 8.4: tcp 3306",
      ...functions.map((fn) => `${lambda(fn.name)} -> RDS Proxy: tcp 3306`).sort(),
      `RDS Proxy -> RDS mysql 8.4: ${functions.map((fn) => `rds-db:connect as ${fn.database.user}`).join("; ")}`,
      ...functions.map((fn) => `${lambda(fn.name)} -> RDS Proxy: rds-db:connect as ${fn.database.user}`).sort(),
    ]);
  });

  it("draws each schedule invoking its function, and what it could not deliver going to its dead-letter queue", () => {
    const schedules = Object.values(synthesized.json.resource.aws_scheduler_schedule);
    expect(schedules.length).toBeGreaterThan(0);
    for (const schedule of schedules) {
      const name = schedule.name as string;
      expect(dev.nodes).toContainEqual(expect.objectContaining({ kind: "schedule", label: ["EventBridge schedule", name], group: "aws" }));
      expect(edgesOf(dev, "event")).toEqual(
        expect.arrayContaining([
          `EventBridge schedule -> λ ${name}: ${schedule.schedule_expression}`,
          "EventBridge schedule -> SQS queue: undelivered",
        ]),
      );
    }
  });

  it("draws no edge the rules do not allow: egress without the target's ingress is no way through", () => {
    const egressOnly = serviceStack();
    const https = { ipProtocol: "tcp", fromPort: 443, toPort: 443 };
    new VpcSecurityGroupEgressRule(egressOnly.functions.api, "egress-only", {
      securityGroupId: egressOnly.functions.api.securityGroup.id,
      referencedSecurityGroupId: egressOnly.bootstrap.secretsEndpoint.securityGroup.id,
      ...https,
    });
    expect(edgesOf(diagramOfStack(egressOnly), "network")).not.toContainEqual(
      expect.stringMatching(/^λ lambda-rds-iam-dev-api -> secretsmanager endpoint/),
    );

    // Admitted by the endpoint, the API function's HTTPS to 0.0.0.0/0 (which holds the endpoint's subnets) gets through.
    const admitted = serviceStack({ functions: { api: { httpsEgress: ["internet"] } } });
    new VpcSecurityGroupIngressRule(admitted.bootstrap.secretsEndpoint, "ingress-only", {
      securityGroupId: admitted.bootstrap.secretsEndpoint.securityGroup.id,
      referencedSecurityGroupId: admitted.functions.api.securityGroup.id,
      ...https,
    });
    expect(edgesOf(diagramOfStack(admitted), "network")).toContain("λ lambda-rds-iam-dev-api -> secretsmanager endpoint: tcp 443");
  });

  it("draws nothing for a stack without a VPC", () => {
    const state = synthStateStack();
    expect(diagramOf(new SynthesizedStack("dev-state", state.raw))).toBeUndefined();
  });

  it("writes Mermaid with the tiers as subgraphs and the edges labelled, and SVG with the same nodes", async () => {
    const mermaid = toMermaid(dev);
    expect(mermaid.startsWith("flowchart LR\n")).toBe(true);
    expect(mermaid).toContain('    subgraph tier_isolated["isolated tier"]\n');
    expect(mermaid).toContain('      database_instance[("RDS mysql 8.4<br/>lambda-rds-iam-dev<br/>db.t4g.micro, single-AZ, IAM auth")]\n');
    expect(mermaid).toContain('  api_function -->|"tcp 3306"| database_instance\n');
    expect(mermaid).toContain('  api_function -.->|"rds-db:connect as app_user"| database_instance\n');
    const svg = await toSvg(dev);
    expect(svg).toMatch(/^<\?xml[\s\S]*<svg /);
    // Graphviz writes "-" in text as &#45;.
    const texts = svg.replace(/&#45;/g, "-");
    for (const text of ["RDS mysql 8.4", "λ lambda-rds-iam-dev-api", "isolated subnet, zone b", "rds-db:connect as app_user", "tcp 3306"])
      expect(texts).toContain(text);
  });
});

describe("npm run diagram", () => {
  it("writes a .mmd and an .svg per service stack of a synthesized directory, and nothing for the others", () => {
    const work = mkdtempSync(join(tmpdir(), "diagram-"));
    const state = synthStateStack();
    for (const [name, json] of [
      ["dev", synthesizedJson(state.stack.node.root.node.findChild("dev") as ServiceStack)],
      ["dev-state", synthesizedJson(state.stack)],
    ] as const) {
      mkdirSync(join(work, "stacks", name), { recursive: true });
      writeFileSync(join(work, "stacks", name, "cdk.tf.json"), JSON.stringify(json));
    }
    const run = spawnSync("npm", ["run", "-s", "diagram", "--", "--stacks-dir", join(work, "stacks"), "--out", join(work, "diagrams")], {
      cwd: projectRoot,
      encoding: "utf8",
    });
    const files = readdirSync(join(work, "diagrams")).sort();
    const mermaid = readFileSync(join(work, "diagrams", "dev.mmd"), "utf8");
    rmSync(work, { recursive: true });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`dev: ${join(work, "diagrams", "dev.mmd")}, ${join(work, "diagrams", "dev.svg")}\n`);
    expect(files).toEqual(["dev.mmd", "dev.svg"]);
    expect(mermaid).toBe(toMermaid(diagramOfStack(state.stack.node.root.node.findChild("dev") as ServiceStack)));
  });
});
