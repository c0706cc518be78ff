import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
// s3rver knows one access key unless told more; it does not check SigV4 signatures, only the key's existence.
const { DUMMY_ACCOUNT } = require("s3rver/lib/models/account") as {
  DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void; revokeAccessKey(id: string): void };
};

export interface LocalS3 {
  readonly endpoint: string;
  readonly bucket: string;
  /** A client of the local server with the harness's credentials (s3rver checks signatures). */
  readonly client: S3Client;
  /** What the ingest handler reads to reach it: the SDK's own endpoint variable, and the data bucket. */
  readonly env: Record<string, string>;
  /** Stops the server and removes its directory. */
  close(): Promise<void>;
}

/**
 * The notification S3 sends when an object is created: the key URL-encoded as S3 encodes it, and a
 * sequencer that grows with time, as S3's do for the events of one key (so a later upload's is greater).
 */
export function objectCreatedEvent(bucket: string, key: string, eTag: string) {
  return {
    Records: [
      {
        eventSource: "aws:s3",
        eventName: "ObjectCreated:Put",
        s3: {
          bucket: { name: bucket },
          object: {
            key: encodeURIComponent(key).replace(/%2F/g, "/"),
            eTag: eTag.replace(/"/g, ""),
            sequencer: process.hrtime.bigint().toString(16).toUpperCase(),
          },
        },
      },
    ],
  };
}

/**
 * s3rver on 127.0.0.1 (any free port) in a temporary directory, with one bucket. It keeps no versions,
 * so objects are told apart by ETag, as the ingest function does for an unversioned bucket.
 */
export async function startLocalS3(
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  region: string,
): Promise<LocalS3> {
  // Node 20 here, 22 in Lambda: the SDK's notice about its future Node support would be the only output of a green run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "local-s3-"));
  const bucket = "data";
  DUMMY_ACCOUNT.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
  const server = new S3rver({ address: "127.0.0.1", port: 0, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  try {
    const { port } = (await server.run()) as AddressInfo;
    const endpoint = `http://127.0.0.1:${port}`;
    // No checksum trailers: s3rver would store a streamed body's aws-chunked framing as part of the object.
    const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials, requestChecksumCalculation: "WHEN_REQUIRED" });
    return {
      endpoint,
      bucket,
      client,
      env: { AWS_ENDPOINT_URL_S3: endpoint, DATA_BUCKET: bucket },
      close: async () => {
        client.destroy();
        await server.close();
        DUMMY_ACCOUNT.revokeAccessKey(credentials.accessKeyId);
        fs.rmSync(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    DUMMY_ACCOUNT.revokeAccessKey(credentials.accessKeyId);
    fs.rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}
