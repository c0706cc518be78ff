/** Test certificates made with the openssl CLI: a CA of its own per harness, and one that trusts nothing of it. */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { requireTools } from "./prerequisites";

// Its errors carry the command and what it printed on stderr.
const run = promisify(execFile);

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A CA and a server certificate it signed for `names` (IP addresses or DNS names), as PEM files in `dir`. */
export async function makeCertificates(openssl: string, dir: string, names: string[]): Promise<{ ca: string; cert: string; key: string }> {
  const file = (name: string) => path.join(dir, name);
  fs.writeFileSync(
    file("server-ext.cnf"),
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=${names.map((name) => (net.isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(",")}`,
      "",
    ].join("\n"),
  );
  await run(openssl, [
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    file("ca-key.pem"),
    "-out",
    file("ca.pem"),
    "-days",
    "2",
    "-sha256",
    "-subj",
    `/CN=rds-iam-harness test CA ${randomBytes(4).toString("hex")}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await run(openssl, ["req", "-new", ...EC_KEY, "-keyout", file("server-key.pem"), "-out", file("server.csr"), "-subj", "/CN=localhost"]);
  await run(openssl, [
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca-key.pem"),
    "-set_serial",
    `0x${randomBytes(8).toString("hex")}`,
    "-days",
    "2",
    "-sha256",
    "-extfile",
    file("server-ext.cnf"),
    "-out",
    file("server-cert.pem"),
  ]);
  return { ca: file("ca.pem"), cert: file("server-cert.pem"), key: file("server-key.pem") };
}

/** The PEM of a CA that signed nothing the harness serves. */
export async function unrelatedCaPem(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rds-iam-harness-otherca-"));
  try {
    return fs.readFileSync((await makeCertificates(requireTools().openssl, dir, ["localhost"])).ca, "utf8");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
