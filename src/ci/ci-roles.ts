import { Construct, type IConstruct } from "constructs";
import { type TerraformStack, Token } from "cdktf";
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import type { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { AwsContext } from "../core/aws-context";
import { resourcesOfType } from "../core/terraform-type";
import { permissionsFor, terraformTypesOf } from "./ci-permissions";

export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com";
/** The CI roles and their policies live on their own IAM path, outside every name pattern the deploy role may manage. */
export const CI_IAM_PATH = "/github-actions/";

export interface CiRolesProps {
  /** "owner/repo" of the GitHub repository whose workflows may assume the roles. */
  readonly repository: string;
  /** The environment, and the GitHub environment whose jobs may assume the deploy role. */
  readonly environment: string;
  readonly planRoleName: string;
  readonly deployRoleName: string;
  /** The account's GitHub OIDC provider when it exists already; created here when absent. */
  readonly oidcProviderArn?: string;
  /** Prefix of every IAM role and policy name the service stack makes, e.g. "lambda-rds-iam-dev". */
  readonly serviceNamePrefix: string;
  /** ARN of the permissions boundary every service role carries: the deploy role changes only roles that carry it. */
  readonly serviceRoleBoundary: string;
  /** Managed policies the deploy role may never change nor delete: the boundary, what callers hold. */
  readonly protectedPolicies: readonly string[];
  /** The AWS managed policies (under arn:<partition>:iam::aws:policy/) the service attaches to its roles, and the only ones the deploy role may. */
  readonly awsManagedPolicies: readonly string[];
  /** The principals the service lets invoke its functions (aws_lambda_permission), and the only ones the deploy role may. */
  readonly invokePrincipals: readonly string[];
  /** Terraform types the service stack synthesizes (see terraformTypesOf). */
  readonly serviceTypes: readonly string[];
  /** Buckets the service stack makes, by name: the only ones whose configuration the roles read or write. */
  readonly serviceBuckets: readonly string[];
  /** Region the service stack deploys to (services call KMS there on the deploy role's behalf). */
  readonly serviceRegion: string;
  /**
   * The state bucket, its key, the region Terraform reaches it in, the service stack's state object key, and the
   * state stack's own when it keeps its state in the bucket (state.selfHosted; absent while a local file holds it):
   * the plan role may plan that stack (allowPlanOf), the deploy role may never write its state.
   */
  readonly state: {
    readonly bucket: S3Bucket;
    readonly key: KmsKey;
    readonly region: string;
    readonly objectKey: string;
    readonly stateStackObjectKey?: string;
  };
}

const isIam = (action: string) => action.startsWith("iam:");
const isS3 = (action: string) => action.startsWith("s3:");
/** Actions granted on any resource: all but IAM's and S3's, which are scoped by name. */
const anywhere = (action: string) => !isIam(action) && !isS3(action);

// use_lockfile writes <key>.tflock next to the state for the length of a plan or an apply.
const lockOf = (stateObject: string) => `${stateObject}.tflock`;

/**
 * The statements that let a role refresh what a stack holds, from the read actions of its types: IAM reads on
 * `iam` only, S3 reads on `buckets` only, every other read anywhere (they take no ARN or read only).
 */
function readStatements(
  [anywhereSid, iamSid, bucketsSid]: [string, string, string],
  reads: readonly string[],
  iam: string[],
  buckets: string[],
): DataAwsIamPolicyDocumentStatement[] {
  return [
    { sid: anywhereSid, actions: reads.filter(anywhere), resources: ["*"] },
    { sid: iamSid, actions: reads.filter(isIam), resources: iam },
    { sid: bucketsSid, actions: reads.filter(isS3), resources: buckets },
  ];
}

/** IAM writes that can change what a role may do: the deploy role may make them only on roles with the boundary. */
const BOUNDED_ROLE_WRITES = [
  "iam:CreateRole",
  "iam:PutRolePolicy",
  "iam:DeleteRolePolicy",
  "iam:AttachRolePolicy",
  "iam:DetachRolePolicy",
  "iam:PutRolePermissionsBoundary",
];

/**
 * GitHub Actions roles of one environment, trusted through GitHub's OIDC provider: a plan role for the
 * repository's pull requests (read-only, plus the state lock) and a deploy role for its GitHub
 * environment of the same name (applies the service stack; IAM only on the service's own names, and
 * roles only with the service's permissions boundary, so no role it makes can do more than that).
 * They live in the hand-deployed state stack, so the deploy role can never widen its own permissions.
 */
export class CiRoles extends Construct {
  readonly plan: IamRole;
  readonly deploy: IamRole;
  readonly oidcProviderArn: string;
  private readonly props: CiRolesProps;

  constructor(scope: Construct, id: string, props: CiRolesProps) {
    super(scope, id);
    this.props = props;
    const context = AwsContext.of(this);
    const iamArn = (resource: string) => context.iamArn(resource);
    this.oidcProviderArn =
      props.oidcProviderArn ??
      new IamOpenidConnectProvider(this, "github-oidc", { url: `https://${GITHUB_OIDC_HOST}`, clientIdList: [GITHUB_OIDC_AUDIENCE] }).arn;

    // Pull requests plan, and so does main before its deploy (the plan the environment's reviewers approve).
    this.plan = this.role("plan", props.planRoleName, [
      `repo:${props.repository}:pull_request`,
      `repo:${props.repository}:ref:refs/heads/main`,
    ]);
    this.deploy = this.role("deploy", props.deployRoleName, [`repo:${props.repository}:environment:${props.environment}`]);

    const { bucket, key, region, objectKey, stateStackObjectKey } = props.state;
    const stateObject = `${bucket.arn}/${objectKey}`;
    const lockObject = lockOf(stateObject);
    const viaS3 = [{ test: "StringEquals", variable: "kms:ViaService", values: [`s3.${region}.${context.dnsSuffix}`] }];
    const stateAccess = (stateActions: string[], keyActions: string[]): DataAwsIamPolicyDocumentStatement[] => [
      { sid: "ListState", actions: ["s3:ListBucket"], resources: [bucket.arn] },
      { sid: "State", actions: stateActions, resources: [stateObject] },
      { sid: "StateLock", actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], resources: [lockObject] },
      { sid: "StateKey", actions: keyActions, resources: [key.arn], condition: viaS3 },
    ];
    this.attach(
      this.plan,
      "plan-state",
      `${props.planRoleName}-state`,
      stateAccess(["s3:GetObject"], ["kms:Decrypt", "kms:GenerateDataKey"]),
    );
    this.attach(
      this.deploy,
      "deploy-state",
      `${props.deployRoleName}-state`,
      stateAccess(["s3:GetObject", "s3:PutObject"], ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]),
    );

    const needed = permissionsFor(props.serviceTypes);
    // Bucket configuration only on the service's buckets: never the state bucket's nor its access logs'.
    const serviceBuckets = props.serviceBuckets.map((name) => `arn:${context.partition}:s3:::${name}`);
    const serviceIam = [iamArn(`role/${props.serviceNamePrefix}-*`), iamArn(`policy/${props.serviceNamePrefix}-*`)];
    const noSecrets: DataAwsIamPolicyDocumentStatement = {
      sid: "NoSecretValues",
      effect: "Deny",
      actions: ["secretsmanager:GetSecretValue"],
      resources: ["*"],
    };
    // One read policy, attached to both roles: the deploy role plans before it applies.
    const read = this.policy("read", `${props.planRoleName}-read`, [
      ...readStatements(["Read", "ReadServiceIam", "ReadServiceBuckets"], needed.read, serviceIam, serviceBuckets),
      noSecrets,
    ]);
    for (const [id, role] of [
      ["plan", this.plan],
      ["deploy", this.deploy],
    ] as const) {
      new IamRolePolicyAttachment(this, `${id}-read-attachment`, { role: role.name, policyArn: read.arn });
    }

    const iamWrites = needed.write.filter(isIam);
    const serviceRoles = iamArn(`role/${props.serviceNamePrefix}-*`);
    const withBoundary = { test: "StringEquals", variable: "iam:PermissionsBoundary", values: [props.serviceRoleBoundary] };
    // The service's own resources (no IAM, no buckets) in a policy of their own: with the rest they outgrow IAM's 6,144 characters.
    this.attach(this.deploy, "deploy-services", `${props.deployRoleName}-apply-services`, [
      { sid: "Apply", actions: needed.write.filter((action) => anywhere(action) && action !== "lambda:AddPermission"), resources: ["*"] },
    ]);
    this.attach(this.deploy, "deploy", `${props.deployRoleName}-apply`, [
      // A function's resource policy decides who may invoke it: only the service's own invokers, on its own functions.
      {
        sid: "AddOnlyServiceInvokers",
        actions: needed.write.filter((action) => action === "lambda:AddPermission"),
        resources: [`arn:${context.partition}:lambda:${props.serviceRegion}:${context.accountId}:function:${props.serviceNamePrefix}-*`],
        condition: [{ test: "StringEquals", variable: "lambda:Principal", values: [...props.invokePrincipals] }],
      },
      { sid: "ApplyServiceBuckets", actions: needed.write.filter(isS3), resources: serviceBuckets },
      {
        sid: "KeysThroughServices",
        actions: needed.kmsVia.actions,
        resources: ["*"],
        condition: [
          {
            test: "StringEquals",
            variable: "kms:ViaService",
            values: needed.kmsVia.services.map((service) => `${service}.${props.serviceRegion}.${context.dnsSuffix}`),
          },
        ],
      },
    ]);
    // The service's IAM in a policy of its own: one with every service's writes would pass IAM's 6 KB.
    this.attach(this.deploy, "deploy-iam", `${props.deployRoleName}-apply-iam`, [
      { sid: "ApplyServiceIam", actions: iamWrites.filter((action) => !BOUNDED_ROLE_WRITES.includes(action)), resources: serviceIam },
      // What changes a role's power needs the role to carry the boundary (and keep it): the role can never exceed it.
      {
        sid: "ChangeOnlyBoundedRoles",
        actions: iamWrites.filter((action) => BOUNDED_ROLE_WRITES.includes(action) && action !== "iam:AttachRolePolicy"),
        resources: [serviceRoles],
        condition: [withBoundary],
      },
      {
        sid: "AttachOnlyServicePolicies",
        actions: iamWrites.filter((action) => action === "iam:AttachRolePolicy"),
        resources: [serviceRoles],
        condition: [
          withBoundary,
          {
            test: "ArnEquals",
            variable: "iam:PolicyARN",
            values: props.awsManagedPolicies.map((name) => `arn:${context.partition}:iam::aws:policy/${name}`),
          },
        ],
      },
      {
        sid: "PassServiceRoles",
        actions: needed.passRoleTo.length > 0 ? ["iam:PassRole"] : [],
        resources: [serviceRoles],
        condition: [{ test: "StringEquals", variable: "iam:PassedToService", values: needed.passRoleTo }],
      },
    ]);
    this.attach(this.deploy, "deploy-guardrails", `${props.deployRoleName}-guardrails`, [
      // Belt and braces: the path already keeps these out of the patterns above.
      {
        sid: "NeverTouchCiIdentity",
        effect: "Deny",
        actions: ["iam:*"],
        resources: [iamArn(`role${CI_IAM_PATH}*`), iamArn(`policy${CI_IAM_PATH}*`), this.oidcProviderArn],
      },
      { sid: "NeverUnboundRoles", effect: "Deny", actions: ["iam:DeleteRolePermissionsBoundary"], resources: ["*"] },
      {
        sid: "NeverRewriteProtectedPolicies",
        effect: "Deny",
        actions: ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy"],
        resources: [...props.protectedPolicies],
      },
      {
        sid: "NeverBreakStateKey",
        effect: "Deny",
        actions: ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:CreateGrant", "kms:DisableKeyRotation"],
        resources: [key.arn],
      },
      // What holds the deploy role's own permissions: only a person changes it.
      ...(stateStackObjectKey
        ? [
            {
              sid: "NeverWriteStateStackState",
              effect: "Deny",
              actions: ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
              resources: [`${bucket.arn}/${stateStackObjectKey}`, lockOf(`${bucket.arn}/${stateStackObjectKey}`)],
            },
          ]
        : []),
      noSecrets,
    ]);
  }

  /**
   * Lets the plan role plan `stack`, the state stack these roles are part of, when it keeps its state in the
   * bucket (props.state.stateStackObjectKey): its state object and lock, and the reads that refresh every type it
   * synthesizes (TYPE_PERMISSIONS), IAM ones on its own roles, policies and OIDC provider only, S3 ones on its
   * own buckets only. Call it once `stack` holds everything else: the types are read from it then.
   */
  allowPlanOf(stack: TerraformStack): void {
    const { planRoleName, state } = this.props;
    if (!state.stateStackObjectKey)
      throw new Error(`${stack.node.id} keeps its state in a local file: there is no state object to plan with`);
    const context = AwsContext.of(this);
    const stateObject = `${state.bucket.arn}/${state.stateStackObjectKey}`;
    const name = `${planRoleName}-state-stack`;
    const literal = (resource: IConstruct, value: string | undefined) => {
      if (!value || Token.isUnresolved(value))
        throw new Error(`${resource.node.path}: the name must be a literal, so the plan role may read exactly it`);
      return value;
    };
    const iam = [
      ...resourcesOfType<IamRole>(stack, "aws_iam_role").map((role) => `role${role.pathInput ?? "/"}${literal(role, role.nameInput)}`),
      ...resourcesOfType<IamPolicy>(stack, "aws_iam_policy").map(
        (policy) => `policy${policy.pathInput ?? "/"}${literal(policy, policy.nameInput)}`,
      ),
      // This policy, made below.
      `policy${CI_IAM_PATH}${name}`,
    ].map((resource) => context.iamArn(resource));
    const providers = resourcesOfType<IamOpenidConnectProvider>(stack, "aws_iam_openid_connect_provider").map((provider) => provider.arn);
    const buckets = resourcesOfType<S3Bucket>(stack, "aws_s3_bucket").map((bucket) => bucket.arn);
    this.attach(this.plan, "plan-state-stack", name, [
      { sid: "StateStackState", actions: ["s3:GetObject"], resources: [stateObject] },
      { sid: "StateStackLock", actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], resources: [lockOf(stateObject)] },
      ...readStatements(
        ["ReadStateStack", "ReadStateStackIam", "ReadStateStackBuckets"],
        permissionsFor(terraformTypesOf(stack)).read,
        [...iam, ...providers],
        buckets,
      ),
    ]);
  }

  /** A role that only GitHub's OIDC tokens for these subjects (and this account's audience) can assume. */
  private role(id: string, name: string, subjects: string[]): IamRole {
    const trust = new DataAwsIamPolicyDocument(this, `${id}-trust`, {
      statement: [
        {
          actions: ["sts:AssumeRoleWithWebIdentity"],
          principals: [{ type: "Federated", identifiers: [this.oidcProviderArn] }],
          condition: [
            { test: "StringEquals", variable: `${GITHUB_OIDC_HOST}:aud`, values: [GITHUB_OIDC_AUDIENCE] },
            { test: "StringEquals", variable: `${GITHUB_OIDC_HOST}:sub`, values: subjects },
          ],
        },
      ],
    });
    return new IamRole(this, `${id}-role`, {
      name,
      path: CI_IAM_PATH,
      description: `GitHub Actions: ${subjects.join(", ")}`,
      assumeRolePolicy: trust.json,
      maxSessionDuration: 3600,
    });
  }

  /** A managed policy (inline ones share 10 KB per role; each managed one has 6 KB of its own). */
  private policy(id: string, name: string, statements: DataAwsIamPolicyDocumentStatement[]): IamPolicy {
    // A service stack without IAM (or without roles to pass) leaves some statements empty, which IAM rejects.
    const statement = statements.filter((s) => (s.actions ?? []).length > 0);
    const document = new DataAwsIamPolicyDocument(this, `${id}-document`, { statement });
    return new IamPolicy(this, `${id}-policy`, { name, path: CI_IAM_PATH, policy: document.json });
  }

  private attach(role: IamRole, id: string, name: string, statement: DataAwsIamPolicyDocumentStatement[]): void {
    new IamRolePolicyAttachment(this, `${id}-attachment`, { role: role.name, policyArn: this.policy(id, name, statement).arn });
  }
}
