import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { parse } from "yaml";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { BOT_LOGIN, FORK_NOTICE, type GitHub, findPullRequest, setLabel, upsertComment } from "../../../../scripts/review/github-comment";
import { BROADENS_LABEL, COMMENT_MARKER } from "../../../../scripts/review/plan-render";
import { projectRoot } from "../../synth";
import { tempDir } from "../../temp";

interface Comment {
  id: number;
  body: string;
  user: { login: string };
}
interface Request {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body?: { body: string };
}

/** GitHub's issue-comment and pull-request endpoints, in memory, on a loopback port. */
class FakeGitHub {
  comments: Comment[] = [];
  pulls: { number: number; head: { sha: string; label: string } }[] = [];
  labels = new Set<string>();
  requests: Request[] = [];
  failWith?: number;
  private server?: Server;
  private nextId = 1000;

  async start(): Promise<GitHub> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return { apiUrl: `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`, repository: "acme/app", token: "test-token" };
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server!.close(() => resolve()));
  }

  comment(body: string, login = BOT_LOGIN): Comment {
    const comment = { id: this.nextId++, body, user: { login } };
    this.comments.push(comment);
    return comment;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", () => {
      const request: Request = { method: req.method!, url: req.url!, headers: req.headers, body: raw ? JSON.parse(raw) : undefined };
      this.requests.push(request);
      const send = (status: number, payload?: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(payload === undefined ? "" : JSON.stringify(payload));
      };
      if (this.failWith) return send(this.failWith, { message: "Resource not accessible by integration" });
      const url = new URL(request.url, "http://localhost");
      if (/^\/repos\/acme\/app\/issues\/(\d+)\/comments$/.test(url.pathname)) {
        if (request.method === "GET") {
          const perPage = Number(url.searchParams.get("per_page"));
          const page = Number(url.searchParams.get("page"));
          return send(200, this.comments.slice((page - 1) * perPage, page * perPage));
        }
        return send(201, this.comment(request.body!.body));
      }
      const commentPath = /^\/repos\/acme\/app\/issues\/comments\/(\d+)$/.exec(url.pathname);
      if (commentPath) {
        const comment = this.comments.find((c) => c.id === Number(commentPath[1]));
        if (!comment) return send(404, { message: "Not Found" });
        if (request.method === "DELETE") {
          this.comments = this.comments.filter((c) => c !== comment);
          return send(204);
        }
        comment.body = request.body!.body;
        return send(200, comment);
      }
      const labelsPath = /^\/repos\/acme\/app\/issues\/\d+\/labels(?:\/(.+))?$/.exec(url.pathname);
      if (labelsPath && request.method === "POST") {
        for (const label of (request.body as unknown as { labels: string[] }).labels) this.labels.add(label);
        return send(
          200,
          [...this.labels].map((name) => ({ name })),
        );
      }
      if (labelsPath?.[1] && request.method === "DELETE") {
        const name = decodeURIComponent(labelsPath[1]);
        if (!this.labels.delete(name)) return send(404, { message: "Label does not exist" });
        return send(
          200,
          [...this.labels].map((label) => ({ name: label })),
        );
      }
      if (url.pathname === "/repos/acme/app/pulls") {
        return send(
          200,
          this.pulls.filter((pull) => pull.head.label === url.searchParams.get("head")),
        );
      }
      send(404, { message: "Not Found" });
    });
  }
}

const body = (text: string) => `${COMMENT_MARKER}\n${text}`;

/** The command behind an npm script (scripts/review/<script>), without npm's own start-up, talking to the fake GitHub. */
const runScript = (github: GitHub, script: string, args: string[]) =>
  new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(projectRoot, "scripts/review", script), ...args], {
      cwd: projectRoot,
      env: { ...process.env, GITHUB_TOKEN: "test-token", GITHUB_REPOSITORY: "acme/app", GITHUB_API_URL: github.apiUrl },
    });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (out += chunk));
    child.on("close", (code) => resolve({ code, out }));
  });

describe("plan comment upsert", () => {
  let fake: FakeGitHub;
  let github: GitHub;
  beforeEach(async () => {
    fake = new FakeGitHub();
    github = await fake.start();
  });
  afterEach(() => fake.stop());

  it("creates the comment when the pull request has none of ours, leaving others' comments (even with the marker) alone", async () => {
    fake.comment("LGTM", "alice");
    const forged = fake.comment(body("not from the bot"), "mallory");
    expect(await upsertComment(github, 7, body("plan 1"))).toEqual({ action: "created", id: expect.any(Number) });
    expect(fake.comments.map((c) => c.body)).toEqual(["LGTM", forged.body, body("plan 1")]);
  });

  it("updates its comment in place on the next push, finding it on a later page", async () => {
    for (let index = 0; index < 120; index += 1) fake.comment(`chatter ${index}`, "alice");
    const ours = fake.comment(body("plan 1"));
    expect(await upsertComment(github, 7, body("plan 2"))).toEqual({ action: "updated", id: ours.id });
    expect(fake.comments.filter((c) => c.body.includes(COMMENT_MARKER))).toEqual([{ ...ours, body: body("plan 2") }]);
    expect(fake.requests.filter((r) => r.method === "GET").map((r) => r.url)).toEqual([
      "/repos/acme/app/issues/7/comments?per_page=100&page=1",
      "/repos/acme/app/issues/7/comments?per_page=100&page=2",
    ]);
    expect(fake.requests.some((r) => r.method === "POST")).toBe(false);
  });

  it("never leaves a repeated comment: duplicates of its own are deleted", async () => {
    const first = fake.comment(body("old"));
    fake.comment(body("older duplicate"));
    await upsertComment(github, 7, body("new"));
    expect(fake.comments).toEqual([{ ...first, body: body("new") }]);
  });

  it("authenticates with the token and asks for the REST API version it was written against", async () => {
    await upsertComment(github, 7, body("plan"));
    for (const request of fake.requests) {
      expect(request.headers.authorization).toBe("Bearer test-token");
      expect(request.headers["x-github-api-version"]).toBe("2022-11-28");
      expect(request.headers.accept).toBe("application/vnd.github+json");
    }
  });

  it("refuses a body without the marker, since it could never be found again", async () => {
    await expect(upsertComment(github, 7, "no marker")).rejects.toThrow("lacks the marker");
    expect(fake.requests).toEqual([]);
  });

  it("fails with GitHub's status and message", async () => {
    fake.failWith = 403;
    await expect(upsertComment(github, 7, body("plan"))).rejects.toThrow(
      'GitHub GET /repos/acme/app/issues/7/comments?per_page=100&page=1: 403 {"message":"Resource not accessible by integration"}',
    );
  });

  it("sets the broadens-access label while the plan widens access, and clears it (present or not) when it does not", async () => {
    await setLabel(github, 7, BROADENS_LABEL, true);
    expect([...fake.labels]).toEqual(["broadens-access"]);
    await setLabel(github, 7, BROADENS_LABEL, false);
    await setLabel(github, 7, BROADENS_LABEL, false);
    expect([...fake.labels]).toEqual([]);
    expect(fake.requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      "POST /repos/acme/app/issues/7/labels",
      "DELETE /repos/acme/app/issues/7/labels/broadens-access",
      "DELETE /repos/acme/app/issues/7/labels/broadens-access",
    ]);
  });

  it("finds a fork's pull request by its head branch and only at the commit that ran", async () => {
    fake.pulls = [{ number: 12, head: { sha: "abc", label: "fork:feature" } }];
    expect(await findPullRequest(github, "fork:feature", "abc")).toBe(12);
    await expect(findPullRequest(github, "fork:feature", "def")).rejects.toThrow("no open pull request from fork:feature at def");
  });

  it("runs as npm run plan:upsert, with the fork notice or a body file", async () => {
    const file = join(tempDir("upsert-"), "comment.md");
    writeFileSync(file, body("from a file"));
    const run = (args: string[]) => runScript(github, "github-comment.ts", args);
    fake.pulls = [{ number: 3, head: { sha: "abc", label: "fork:feature" } }];
    expect(await run(["--head", "fork:feature", "--head-sha", "abc", "--fork-notice"])).toEqual({
      code: 0,
      out: expect.stringMatching(/^created comment \d+ on #3\n$/),
    });
    expect(fake.comments.map((c) => c.body)).toEqual([FORK_NOTICE]);
    expect(await run(["--pr", "3", file])).toEqual({ code: 0, out: expect.stringMatching(/^updated comment \d+ on #3\n$/) });
    expect(fake.comments.map((c) => c.body)).toEqual([body("from a file")]);
    expect(await run([file])).toEqual({ code: 1, out: expect.stringContaining("usage: npm run plan:upsert") });
  }, 30_000);

  it("fails closed when the comment cannot be rendered: the step fails, the pull request gets the error and the label", async () => {
    const dir = tempDir("failed-render-");
    const [plans, verdict, comment] = ["plans", "verdict.json", "comment.md"].map((name) => join(dir, name));
    mkdirSync(plans);
    writeFileSync(join(plans, "dev.json"), JSON.stringify({ format_version: "0.9", resource_changes: [] }));
    const render = await runScript(github, "plan-comment.ts", ["--result", verdict, "--out", comment, plans]);
    expect(render).toEqual({ code: 1, out: expect.stringContaining("format_version 0.9") });
    const upsert = await runScript(github, "github-comment.ts", ["--pr", "3", "--result", verdict, comment]);
    expect(upsert.code).toBe(0);
    expect(fake.comments.map((c) => c.body)).toEqual([
      expect.stringMatching(new RegExp(`^${COMMENT_MARKER}[^]*could not be rendered[^]*format_version 0\\.9`)),
    ]);
    expect([...fake.labels]).toEqual([BROADENS_LABEL]);
    // Nothing written at all (the step died first): the upsert still tells the pull request, then fails.
    fake.labels.clear();
    const [noComment, noVerdict] = [join(dir, "none.md"), join(dir, "none.json")];
    const missing = await runScript(github, "github-comment.ts", ["--pr", "3", "--result", noVerdict, noComment]);
    expect(missing).toEqual({ code: 1, out: expect.stringContaining(`${noComment} and ${noVerdict} not written`) });
    expect(fake.comments.map((c) => c.body)).toEqual([expect.stringContaining(`${noComment} and ${noVerdict} not written`)]);
    expect([...fake.labels]).toEqual([BROADENS_LABEL]);
    // In plan.yml the upsert runs after a failed render step, which fails the job.
    const plan = parse(readFileSync(join(projectRoot, ".github/workflows/plan.yml"), "utf8"));
    const steps = plan.jobs.comment.steps as { run?: string; if?: string; "continue-on-error"?: boolean }[];
    const renderStep = steps.find((step) => step.run?.includes("plan:comment"))!;
    const upsertStep = steps.find((step) => step.run?.includes("plan:upsert"))!;
    expect([renderStep["continue-on-error"], upsertStep.if]).toEqual([undefined, "${{ !cancelled() }}"]);
    expect(steps.indexOf(upsertStep)).toBeGreaterThan(steps.indexOf(renderStep));
  }, 60_000);
});
