import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PLAN_COMMENT_SAMPLE, renderPlanCommentSample } from "../../../scripts/docs/plan-comment-sample";
import { projectRoot } from "../synth";

describe("the rendered plan comment the README shows", () => {
  let rendered: string;
  beforeAll(async () => {
    rendered = await renderPlanCommentSample();
  }, 120_000);

  it("is, in docs/plan-comment-sample.md, what plan:comment renders for the fixture now (npm run docs:plan-comment writes it)", () => {
    expect(readFileSync(PLAN_COMMENT_SAMPLE, "utf8")).toBe(rendered);
  });

  it("is quoted in the README line for line from that rendering", () => {
    const readme = readFileSync(join(projectRoot, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Read the PR comment"));
    const quoted = [...section.matchAll(/^> (.+)$/gm)].map((match) => match[1]);
    const lines = new Set(rendered.split("\n"));
    expect(quoted.length).toBeGreaterThan(5);
    expect(quoted.filter((line) => !lines.has(line))).toEqual([]);
  });
});
