import { type App, Testing, TerraformElement, TerraformResource, type TerraformStack } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import { cpSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { type StackConfigInput, parseStackConfig } from "../../src/config/stack-config";
import { ServiceStack } from "../../src/service-stack";
import { StateStack } from "../../src/state/state-stack";
import { tempDir } from "./temp";

export const projectRoot = resolve(__dirname, "../..");

/** cdktf's testing app, writing (when it writes at all) into this test file's temporary directory rather than the OS's. */
export const testApp = (): App => Testing.app({ outdir: tempDir("cdktf.out-") });

/**
 * A second checkout of what a function bundle reads (function sources, migrations, tsconfig.json) at
 * another path. Its node_modules links each package of this one's, but not the build cache: the
 * checkout's builds stay in the checkout.
 */
export function checkout(): string {
  const root = tempDir("checkout-");
  for (const path of ["functions", "migrations", "tsconfig.json"]) cpSync(join(projectRoot, path), join(root, path), { recursive: true });
  mkdirSync(join(root, "node_modules"));
  for (const name of readdirSync(join(projectRoot, "node_modules")).filter((name) => name !== ".cache")) {
    symlinkSync(join(projectRoot, "node_modules", name), join(root, "node_modules", name));
  }
  return root;
}

/** The least a stack configuration needs; everything else takes its default (the dev shape). */
export const MINIMAL = { environment: "dev", accountId: "111111111111" } as const;

type Block = Record<string, any>;
export interface TerraformJson {
  terraform: Block;
  provider: Block;
  resource: Record<string, Record<string, Block>>;
  data: Record<string, Record<string, Block>>;
  output: Record<string, Block>;
}

export interface Synthesized<S extends TerraformStack = ServiceStack> {
  stack: S;
  json: TerraformJson;
  /** The resource made by the construct at `path` (relative to the stack), e.g. ("aws_vpc", "network/vpc"). */
  resource(type: string, path: string): Block;
  data(type: string, path: string): Block;
  /** Terraform reference to an attribute of that resource, as it appears in other blocks. */
  ref(type: string, path: string, attribute: string): string;
  dataRef(type: string, path: string, attribute: string): string;
  /** All resources of a type, keyed by construct path. */
  all(type: string): Record<string, Block>;
  /** The standalone ingress or egress rules of the security group with this id reference. */
  rulesOf(direction: "ingress" | "egress", groupId: string): Block[];
  /** The inline policies (aws_iam_role_policy) of the role made at `rolePath`, keyed by construct path. */
  policiesOf(rolePath: string): Record<string, Block>;
  /** References to the stack's partition, DNS suffix, region and account id (src/core/aws-context.ts), as ARNs embed them. */
  aws: { partition: string; dnsSuffix: string; region: string; accountId: string };
}

/** A service stack of the minimal configuration with `input` on top, not synthesized yet: a test may add constructs to it. */
export function serviceStack(input: Partial<StackConfigInput> = {}): ServiceStack {
  const config = parseStackConfig({ ...MINIMAL, ...input }, "test");
  return new ServiceStack(testApp(), config.environment, { config, projectRoot });
}

/** A service stack of the minimal configuration with `input` on top, synthesized. */
export function synthStack(input: Partial<StackConfigInput> = {}): Synthesized {
  return synthesize(serviceStack(input));
}

/** A stack's Terraform JSON as `cdktf synth` writes it: with the `//` metadata (construct paths) that Testing.synth drops. */
export function synthesizedJson(stack: TerraformStack): TerraformJson {
  invokeAspects(stack);
  return JSON.parse(JSON.stringify(stack.toTerraform())) as TerraformJson;
}

/** The `<environment>-state` stack of the minimal configuration with `input` on top, beside its service stack, synthesized. */
export function synthStateStack(input: Partial<StackConfigInput> = {}): Synthesized<StateStack> {
  const config = parseStackConfig({ ...MINIMAL, ...input }, "test");
  const app = testApp();
  const service = new ServiceStack(app, config.environment, { config, projectRoot });
  return synthesize(new StateStack(app, `${config.environment}-state`, { config, service }));
}

/** Any stack's Terraform JSON, with lookups by construct path. */
export function synthesize<S extends TerraformStack>(stack: S): Synthesized<S> {
  const json = JSON.parse(Testing.synth(stack)) as TerraformJson;
  const element = (path: string): TerraformElement => {
    const found = path.split("/").reduce<any>((scope, id) => scope?.node.tryFindChild(id), stack);
    if (!(found instanceof TerraformElement)) throw new Error(`no Terraform element at ${path}`);
    return found;
  };
  const block = (blocks: Record<string, Record<string, Block>>, type: string, path: string): [string, Block] => {
    const id = element(path).friendlyUniqueId;
    const found = blocks[type]?.[id];
    if (!found) throw new Error(`${path} is not a ${type}`);
    return [id, found];
  };
  const dataRef = (type: string, path: string, attribute: string) => `\${data.${type}.${block(json.data, type, path)[0]}.${attribute}}`;
  const all = (type: string): Record<string, Block> =>
    Object.fromEntries(
      stack.node
        .findAll()
        .filter((c): c is TerraformResource => c instanceof TerraformResource && c.terraformResourceType === type)
        .map((c) => [c.node.path.slice(stack.node.path.length + 1), json.resource[type][c.friendlyUniqueId]]),
    );
  return {
    stack,
    json,
    resource: (type, path) => block(json.resource, type, path)[1],
    data: (type, path) => block(json.data, type, path)[1],
    ref: (type, path, attribute) => `\${${type}.${block(json.resource, type, path)[0]}.${attribute}}`,
    dataRef,
    all,
    rulesOf: (direction, groupId) =>
      Object.values(all(`aws_vpc_security_group_${direction}_rule`)).filter((rule) => rule.security_group_id === groupId),
    policiesOf: (rolePath) => {
      const roleName = `\${aws_iam_role.${block(json.resource, "aws_iam_role", rolePath)[0]}.name}`;
      return Object.fromEntries(Object.entries(all("aws_iam_role_policy")).filter(([, policy]) => policy.role === roleName));
    },
    get aws() {
      return {
        partition: dataRef("aws_partition", "aws-context/partition", "partition"),
        dnsSuffix: dataRef("aws_partition", "aws-context/partition", "dns_suffix"),
        region: dataRef("aws_region", "aws-context/region", "region"),
        accountId: dataRef("aws_caller_identity", "aws-context/caller", "account_id"),
      };
    },
  };
}
