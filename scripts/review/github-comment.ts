/**
 * npm run plan:upsert -- (--pr N | --head OWNER:BRANCH --head-sha SHA) (BODY.md | --fork-notice) [--result RESULT.json]
 *
 * Keeps one plan comment per pull request: updates the comment that carries the hidden marker (and
 * was written by the workflow's bot), creates it when there is none, deletes any duplicate. With
 * --result (the verdict `plan:comment --result` wrote) it also sets the pull request's
 * `broadens-access` label while the plan widens access and removes it once it does not. Talks to
 * the GitHub REST API with GITHUB_TOKEN; GITHUB_REPOSITORY and GITHUB_API_URL are set by Actions.
 * Fails closed: when BODY.md or RESULT.json was not written (the render step failed before writing
 * them), it posts a comment saying so and sets the label, then exits 1.
 */
import { existsSync, readFileSync } from "node:fs";
import { runCli, takeFlag, takeOption } from "../cli/cli-args";
import type { PlanVerdict } from "../stacks/plan-classification";
import { runUrl } from "./plan-comment";
import { BROADENS_LABEL, COMMENT_MARKER, failureComment } from "./plan-render";

export interface GitHub {
  /** REST API root, e.g. https://api.github.com. */
  readonly apiUrl: string;
  /** "owner/repo". */
  readonly repository: string;
  readonly token: string;
}

/** The workflow's own identity: only its comments are ever edited or deleted. */
export const BOT_LOGIN = "github-actions[bot]";

export const FORK_NOTICE = `${COMMENT_MARKER}
## Terraform plan

No plan for this pull request: it comes from a fork, and GitHub gives workflows of fork pull requests
no OIDC token (and so no AWS credentials) and no write access. The tests, \`terraform validate\` and
checkov ran as usual; a maintainer can push the branch to this repository to get a plan.
`;

interface Comment {
  id: number;
  body?: string;
  user?: { login?: string } | null;
}

async function call<T>(github: GitHub, method: string, path: string, body?: unknown, allowed: number[] = []): Promise<T> {
  const response = await fetch(`${github.apiUrl.replace(/\/$/, "")}${path}`, {
    method,
    headers: {
      Accept: "application/vnd.github+json",
      Authorization: `Bearer ${github.token}`,
      "X-GitHub-Api-Version": "2022-11-28",
      "User-Agent": "lambda-rds-iam-plan-comment",
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok && !allowed.includes(response.status))
    throw new Error(`GitHub ${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Every comment of the pull request, page by page. */
async function commentsOf(github: GitHub, pullRequest: number): Promise<Comment[]> {
  const all: Comment[] = [];
  for (let page = 1; ; page += 1) {
    const batch = await call<Comment[]>(
      github,
      "GET",
      `/repos/${github.repository}/issues/${pullRequest}/comments?per_page=100&page=${page}`,
    );
    all.push(...batch);
    if (batch.length < 100) return all;
  }
}

/** Creates or updates the one marked comment; returns what it did and the comment's id. */
export async function upsertComment(
  github: GitHub,
  pullRequest: number,
  body: string,
): Promise<{ action: "created" | "updated"; id: number }> {
  if (!body.includes(COMMENT_MARKER)) throw new Error("the comment body lacks the marker; it would never be found again");
  const ours = (await commentsOf(github, pullRequest)).filter(
    (comment) => comment.user?.login === BOT_LOGIN && comment.body?.includes(COMMENT_MARKER),
  );
  const [existing, ...duplicates] = ours;
  for (const duplicate of duplicates) await call(github, "DELETE", `/repos/${github.repository}/issues/comments/${duplicate.id}`);
  if (existing) {
    await call(github, "PATCH", `/repos/${github.repository}/issues/comments/${existing.id}`, { body });
    return { action: "updated", id: existing.id };
  }
  const created = await call<Comment>(github, "POST", `/repos/${github.repository}/issues/${pullRequest}/comments`, { body });
  return { action: "created", id: created.id };
}

/** Puts the label on the pull request when `on`, takes it off otherwise (GitHub creates a label on first use). */
export async function setLabel(github: GitHub, pullRequest: number, label: string, on: boolean): Promise<void> {
  const issue = `/repos/${github.repository}/issues/${pullRequest}/labels`;
  if (on) await call(github, "POST", issue, { labels: [label] });
  // Not there is what removing wants.
  else await call(github, "DELETE", `${issue}/${encodeURIComponent(label)}`, undefined, [404]);
}

/**
 * The open pull request whose head is `head` ("owner:branch") at exactly `sha`. For workflow_run
 * events of fork pull requests, where GitHub does not list the pull request: the branch name alone
 * is the fork's to choose, the commit is what ran.
 */
export async function findPullRequest(github: GitHub, head: string, sha: string): Promise<number> {
  const pulls = await call<{ number: number; head: { sha: string } }[]>(
    github,
    "GET",
    `/repos/${github.repository}/pulls?state=open&head=${encodeURIComponent(head)}`,
  );
  const match = pulls.find((pull) => pull.head.sha === sha);
  if (!match) throw new Error(`no open pull request from ${head} at ${sha}`);
  return match.number;
}

async function main(args: string[]): Promise<void> {
  const { GITHUB_TOKEN: token, GITHUB_REPOSITORY: repository, GITHUB_API_URL: apiUrl = "https://api.github.com" } = process.env;
  if (!token || !repository) throw new Error("GITHUB_TOKEN and GITHUB_REPOSITORY must be set");
  const github = { apiUrl, repository, token };
  const pr = takeOption(args, "--pr");
  const head = takeOption(args, "--head");
  const headSha = takeOption(args, "--head-sha");
  const resultFile = takeOption(args, "--result");
  const forkNotice = takeFlag(args, "--fork-notice");
  const [file] = args;
  const unwritten = [file, resultFile].filter((path): path is string => path !== undefined && !existsSync(path));
  const notRendered =
    unwritten.length > 0 ? `${unwritten.join(" and ")} not written: the plan comment did not render (see the log of its step)` : undefined;
  const body = forkNotice
    ? FORK_NOTICE
    : notRendered
      ? failureComment(notRendered, runUrl(process.env)).markdown
      : file
        ? readFileSync(file, "utf8")
        : undefined;
  if (!body || (!pr && !(head && headSha))) {
    throw new Error(
      "usage: npm run plan:upsert -- (--pr N | --head OWNER:BRANCH --head-sha SHA) (BODY.md | --fork-notice) [--result RESULT.json]",
    );
  }
  const number = pr ? Number(pr) : await findPullRequest(github, head!, headSha!);
  const { action, id } = await upsertComment(github, number, body);
  console.log(`${action} comment ${id} on #${number}`);
  if (resultFile) {
    const broadens = notRendered !== undefined || (JSON.parse(readFileSync(resultFile, "utf8")) as PlanVerdict).broadens;
    await setLabel(github, number, BROADENS_LABEL, broadens);
    console.log(`${broadens ? "set" : "cleared"} label ${BROADENS_LABEL} on #${number}`);
  }
  if (notRendered) throw new Error(notRendered);
}

runCli(module, main);
