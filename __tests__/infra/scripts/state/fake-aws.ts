/**
 * The state bucket's fake AWS, in a process of its own (the test's event loop waits while Terraform runs:
 * spawnSync): s3rver (harness/local-s3.ts) with the bucket made, and the plan stub for STS. Started by
 * startFakeAws() below; run as a script, argv is the access key, its secret and the bucket.
 */
import { type ChildProcess, fork } from "node:child_process";
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startLocalS3 } from "../../../../harness/local-s3";
import { startAwsStub } from "../../../../scripts/review/plans/aws-stub";

export interface FakeAws {
  /** Endpoints of S3 and STS, for a backend's `endpoints`. */
  readonly endpoints: { s3: string; sts: string };
  /** The text of an object of the bucket; rejects when there is none. */
  objectText(key: string): Promise<string>;
  close(): Promise<void>;
}

const REGION = "eu-west-1";

export async function startFakeAws(credentials: { accessKeyId: string; secretAccessKey: string }, bucket: string): Promise<FakeAws> {
  const child: ChildProcess = fork(__filename, [credentials.accessKeyId, credentials.secretAccessKey, bucket], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const endpoints = await new Promise<FakeAws["endpoints"]>((resolve, reject) => {
    child.once("message", (message) => resolve(message as FakeAws["endpoints"]));
    child.once("exit", (code) => reject(new Error(`the fake AWS exited with ${code} before it listened`)));
  });
  const client = new S3Client({ endpoint: endpoints.s3, region: REGION, forcePathStyle: true, credentials });
  return {
    endpoints,
    objectText: async (key) => (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString(),
    close: async () => {
      client.destroy();
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.disconnect();
      await exited;
    },
  };
}

async function serve([accessKeyId, secretAccessKey, bucket]: string[]): Promise<void> {
  const stub = await startAwsStub();
  const s3 = await startLocalS3({ accessKeyId, secretAccessKey }, REGION);
  await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
  process.once("disconnect", async () => {
    stub.server.close();
    await s3.close();
    process.exit(0);
  });
  process.send!({ s3: s3.endpoint, sts: stub.url });
}

if (require.main === module) void serve(process.argv.slice(2));
