import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { projectRoot } from "../synth";

/** The README and every page under docs/: what a reader follows. */
const PAGES = [
  "README.md",
  ...readdirSync(join(projectRoot, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];
const read = (page: string) => readFileSync(join(projectRoot, page), "utf8");
const scripts: Record<string, string> = JSON.parse(read("package.json")).scripts;
const help = read("help");

/** Code as a reader copies it: fenced blocks and inline spans. */
function codeOf(markdown: string): string[] {
  const fenced = [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((match) => match[1]);
  const prose = markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, "");
  return [...fenced, ...[...prose.matchAll(/`([^`\n]+)`/g)].map((match) => match[1])];
}

/** Every `npm X` and `npm run X` a page shows, as `npm X` or `npm run X`. */
function npmCommandsOf(markdown: string): string[] {
  return codeOf(markdown).flatMap((code) =>
    [...code.matchAll(/\bnpm\s+(?:(run|run-script)\s+)?(?:-s\s+)?([a-z][\w:.-]*)/g)].map(([, run, name]) =>
      run ? `npm run ${name}` : `npm ${name}`,
    ),
  );
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");

function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const headings = markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, "").matchAll(/^#{1,6} (.+)$/gm);
  for (const [, heading] of headings) {
    const base = anchorOf(heading);
    const count = seen.get(base) ?? 0;
    anchors.add(count === 0 ? base : `${base}-${count}`);
    seen.set(base, count + 1);
  }
  return anchors;
}

describe("the README and docs/", () => {
  it("show only npm commands that exist: `npm run X` in package.json's scripts, `npm X` there or in help", () => {
    const missing = PAGES.flatMap((page) =>
      npmCommandsOf(read(page))
        .filter((command) => {
          const [, run, name] = /^npm (run )?(.+)$/.exec(command)!;
          return run ? !(name in scripts) : !(name in scripts) && !help.includes(command);
        })
        .map((command) => `${page}: ${command}`),
    );
    expect([...new Set(missing)]).toEqual([]);
  });

  it("link only to files and headings that exist", () => {
    const broken = PAGES.flatMap((page) => {
      const links = [...read(page).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]);
      return links
        .filter((link) => !/^[a-z]+:/i.test(link))
        .filter((link) => {
          const [path, anchor] = link.split("#");
          const target = path ? join(dirname(join(projectRoot, page)), decodeURIComponent(path)) : join(projectRoot, page);
          if (!existsSync(target)) return true;
          return anchor !== undefined && target.endsWith(".md") && !anchorsOf(readFileSync(target, "utf8")).has(anchor);
        })
        .map((link) => `${page}: ${link}`);
    });
    expect(broken).toEqual([]);
  });

  it("keep the README a front door of at most 20 KB", () => {
    expect({ page: "README.md", bytes: Buffer.byteLength(read("README.md")) <= 20 * 1024 }).toEqual({ page: "README.md", bytes: true });
  });

  it("are each linked from the README or another page", () => {
    const linked = new Set(
      PAGES.flatMap((page) =>
        [...read(page).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((match) =>
          relative(projectRoot, join(dirname(join(projectRoot, page)), match[1])),
        ),
      ),
    );
    expect(PAGES.filter((page) => page !== "README.md" && !linked.has(page))).toEqual([]);
  });
});
