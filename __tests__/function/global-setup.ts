import { MissingPrerequisite, ensurePrerequisites } from "../../harness/prerequisites";

/** Before any function test: MariaDB and openssl are there (installed once where apt may), or one line says how to get them. */
export default function globalSetup(): void {
  try {
    ensurePrerequisites((line) => process.stderr.write(`${line}\n`));
  } catch (error) {
    if (!(error instanceof MissingPrerequisite)) throw error;
    process.stderr.write(`\n${error.message}\n`);
    process.exit(1);
  }
}
