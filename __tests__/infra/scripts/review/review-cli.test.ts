import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { projectRoot } from "../../synth";

/** An app in plain Node that writes one stack the way cdktf does, its rule's CIDR from config.json; it needs node_modules/. */
const APP = `
const { mkdirSync, readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { cidr } = JSON.parse(readFileSync("config.json", "utf8"));
const meta = (path) => ({ metadata: { path: "app/" + path } });
const stack = { resource: {
  aws_security_group: { db: { "//": meta("db"), name: "db", description: require("./node_modules/marker.js") } },
  aws_vpc_security_group_ingress_rule: { admin: { "//": meta("admin"), security_group_id: "\${aws_security_group.db.id}", cidr_ipv4: cidr, ip_protocol: "tcp", from_port: 3306, to_port: 3306 } },
} };
mkdirSync(join(process.env.CDKTF_OUTDIR, "stacks", "app"), { recursive: true });
writeFileSync(join(process.env.CDKTF_OUTDIR, "stacks", "app", "cdk.tf.json"), JSON.stringify(stack));
`;

describe("npm run review, end to end in a git repository", () => {
  const work = mkdtempSync(join(tmpdir(), "review-cli-"));
  const repo = join(work, "repo");
  const temp = join(work, "tmp");
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.com", ...args], { cwd: repo, encoding: "utf8" });
  const review = (...args: string[]) =>
    spawnSync(
      process.execPath,
      [
        "--import",
        pathToFileURL(join(projectRoot, "node_modules/tsx/dist/loader.mjs")).href,
        join(projectRoot, "scripts/review/review.ts"),
        ...args,
      ],
      {
        cwd: repo,
        encoding: "utf8",
        env: { ...process.env, TMPDIR: temp },
      },
    );

  beforeAll(() => {
    mkdirSync(join(repo, "node_modules"), { recursive: true });
    mkdirSync(temp);
    writeFileSync(join(repo, "node_modules", "marker.js"), 'module.exports = "database";\n');
    writeFileSync(join(repo, ".gitignore"), "node_modules/\n");
    writeFileSync(join(repo, "cdktf.json"), JSON.stringify({ app: "node app.js", context: {} }));
    writeFileSync(join(repo, "package-lock.json"), "{}\n");
    writeFileSync(join(repo, "app.js"), APP);
    writeFileSync(join(repo, "config.json"), JSON.stringify({ cidr: "10.0.8.0/24" }));
    git("init", "--quiet", "--initial-branch=main");
    git("add", ".");
    git("commit", "--quiet", "-m", "base");
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("synthesizes the base in a worktree that borrows node_modules, compares it with the working tree, exits 4 and leaves nothing behind", () => {
    writeFileSync(join(repo, "config.json"), JSON.stringify({ cidr: "0.0.0.0/0" }));
    const run = review("--base", "main");
    expect(run.stderr).toBe("");
    expect(run.status).toBe(4);
    expect(run.stdout).toMatch(
      /^Infrastructure review: main \([0-9a-f]{7}\) -> working tree\nVerdict: widens: security groups \(exit status 4\)\n/,
    );
    expect(run.stdout).toContain('      cidr_ipv4: "10.0.8.0/24" -> "0.0.0.0/0"');
    expect(run.stdout).toMatch(/added, widens +app +db +ingress +tcp +3306 +0\.0\.0\.0\/0/);
    expect(run.stdout).not.toContain("\u001b[");
    expect(git("worktree", "list", "--porcelain").match(/^worktree /gm)).toHaveLength(1);
    // Removing the worktree removed its symlink, not the node_modules it borrowed.
    expect(existsSync(join(repo, "node_modules", "marker.js"))).toBe(true);
    // tsx keeps its compile cache in the temp directory; the review's own checkout and outputs are gone.
    expect(readdirSync(temp).filter((name) => !/^tsx-\d+$/.test(name))).toEqual([]);
  });

  it("with --out writes the Markdown there and exits 0 whatever the verdict, printing it (what CI runs)", () => {
    const out = join(work, "review.md");
    const run = review("--base", "main", "--format", "markdown", "--out", out);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${out}: widens: security groups (exit status 4 without --out)\n`);
    expect(readFileSync(out, "utf8")).toMatch(
      /^## Infrastructure review\n\n<code>main \([0-9a-f]{7}\)<\/code> → <code>working tree<\/code>: \*\*widens: security groups\*\*/,
    );
  });

  it("fails with exit status 1 and says why for a base that does not exist", () => {
    const run = review("--base", "no-such-branch");
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe("--base no-such-branch: no such commit in this repository");
  });
});
