import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { MUTATIONS, type Mutation } from "../../../../scripts/audit/mutation-list";
import {
  FRESHNESS_TESTS,
  type FileResult,
  applyMutation,
  copyCheckout,
  failedTests,
  jestArguments,
  renderTable,
  selectMutations,
  staleMutations,
} from "../../../../scripts/audit/mutations";
import { projectRoot } from "../../synth";
import { tempDir } from "../../temp";

/** A tree holding one file, and a mutation of it. */
function tree(content: string): { root: string; mutation: Mutation } {
  const root = tempDir("mutations-");
  mkdirSync(join(root, "src"));
  writeFileSync(join(root, "src", "a.ts"), content);
  return { root, mutation: { id: "window", mistake: "a window shortened", file: "src/a.ts", search: "days: 30", replace: "days: 7" } };
}

describe("the declared mutations", () => {
  it("each apply to this checkout: their text is in their file exactly once", () => {
    expect(staleMutations(projectRoot, MUTATIONS)).toEqual([]);
  });

  it("each edit product code (not a test), change something, and have an id of their own", () => {
    for (const { id, file, search, replace } of MUTATIONS) {
      expect({ id, product: /^(src|functions|scripts|\.github\/workflows)\//.test(file), changes: search !== replace }).toEqual({
        id,
        product: true,
        changes: true,
      });
    }
    const ids = MUTATIONS.map(({ id }) => id);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
  });
});

describe("staleMutations", () => {
  it("names a mutation whose text is gone, occurs twice, or whose file is gone, and the fix", () => {
    const { root, mutation } = tree("days: 30\n");
    expect(staleMutations(root, [mutation])).toEqual([]);
    expect(staleMutations(root, [{ ...mutation, search: "days: 31" }])).toEqual([
      "window: its search text is not in src/a.ts; update the mutation to the code as it is now",
    ]);
    writeFileSync(join(root, "src", "a.ts"), "days: 30\ndays: 30\n");
    expect(staleMutations(root, [mutation])).toEqual([
      "window: its search text occurs 2 times, not once, in src/a.ts; update the mutation to the code as it is now",
    ]);
    expect(staleMutations(root, [{ ...mutation, file: "src/b.ts" }])).toEqual([
      "window: src/b.ts does not exist; point the mutation at the file that now holds the code",
    ]);
  });
});

describe("applyMutation", () => {
  it("replaces the text once, as written, and restores the file byte for byte", () => {
    const original = "const key = { days: 30 }; // $& stays\n";
    const { root, mutation } = tree(original);
    const restore = applyMutation(root, { ...mutation, replace: "days: $&" });
    expect(readFileSync(join(root, mutation.file), "utf8")).toBe("const key = { days: $& }; // $& stays\n");
    restore();
    expect(readFileSync(join(root, mutation.file), "utf8")).toBe(original);
  });

  it("refuses a stale mutation and leaves the file as it was", () => {
    const { root, mutation } = tree("days: 14\n");
    expect(() => applyMutation(root, mutation)).toThrow("window: its search text is not in src/a.ts");
    expect(readFileSync(join(root, mutation.file), "utf8")).toBe("days: 14\n");
  });
});

describe("failedTests", () => {
  it("lists each failed test by its full name, and a file that failed to run by its path in the repository", () => {
    const results: FileResult[] = [
      { file: "/tmp/copy/__tests__/infra/a.test.ts", failed: ["keys keep 30 days"], failedToRun: false },
      { file: "/tmp/copy/__tests__/infra/b.test.ts", failed: [], failedToRun: true },
      { file: "/tmp/copy/__tests__/infra/c.test.ts", failed: [], failedToRun: false },
    ];
    expect(failedTests(results)).toEqual(["keys keep 30 days", "__tests__/infra/b.test.ts (failed to run)"]);
    expect(failedTests(results.slice(2))).toEqual([]);
  });
});

describe("the audit's choices", () => {
  it("runs a mutation's test files within its project, the infra project by default", () => {
    expect(jestArguments({}).slice(0, 2)).toEqual(["--selectProjects", "infra"]);
    expect(jestArguments({ project: "function", paths: ["__tests__/function/a.test.ts"] }).slice(0, 3)).toEqual([
      "__tests__/function/a.test.ts",
      "--selectProjects",
      "function",
    ]);
  });

  it("skips every test of freshness, by its name as jest reads it, and no other test", () => {
    const pattern = new RegExp(jestArguments({}).at(-1)!.slice("--testNamePattern=".length));
    for (const name of FRESHNESS_TESTS) expect([name, pattern.test(`the fixtures ${name}`)]).toEqual([name, false]);
    expect(pattern.test("the dev deploy role cannot make anyone more powerful (+2)")).toBe(true);
    // Each is a test that exists: a renamed one would otherwise be run again, unnoticed.
    const sources = readdirSync(join(projectRoot, "__tests__"), { recursive: true })
      .map(String)
      .filter((path) => path.endsWith(".test.ts"))
      .map((path) => readFileSync(join(projectRoot, "__tests__", path), "utf8"));
    for (const name of FRESHNESS_TESTS) expect([name, sources.some((source) => source.includes(name))]).toEqual([name, true]);
  });

  it("runs the mutations --only names, and names the known ones for an unknown id", () => {
    expect(selectMutations(undefined)).toBe(MUTATIONS);
    const [first, second] = MUTATIONS;
    expect(selectMutations(`${first.id},${second.id}`).map(({ id }) => id)).toEqual([first.id, second.id]);
    expect(() => selectMutations("no-such-edit")).toThrow(`--only: no mutation no-such-edit; known: ${first.id}, ${second.id}`);
  });

  it("prints one row per mutation with its result, its seconds and its first failing tests", () => {
    const table = renderTable([
      { id: "key-window", mistake: "", outcome: { kind: "caught", failed: ["a", "b", "c"] }, seconds: 41.6 },
      { id: "edge", mistake: "", outcome: { kind: "MISSED" }, seconds: 180 },
    ]);
    expect(table.split("\n")).toEqual([
      "mutation    result  s    first failing tests",
      "key-window  caught  42   a | b (+1)",
      "edge        MISSED  180  ",
    ]);
  });
});

describe("copyCheckout", () => {
  it("copies the working tree, uncommitted files included, as a git repository, with node_modules hard-linked and a bundle cache of its own", () => {
    const root = tempDir("checkout-");
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write(".gitignore", "node_modules\n");
    write("src/a.ts", "committed\n");
    write("node_modules/jest/package.json", "{}\n");
    write("node_modules/.cache/bundles/api.zip", "zip\n");
    execFileSync("git", ["init", "-q"], { cwd: root });
    execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.com", "add", "-A"], { cwd: root });
    execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-qm", "base"], { cwd: root });
    write("src/a.ts", "changed, not committed\n");
    write("src/b.ts", "new, not committed\n");

    const copy = copyCheckout(root);
    const inode = (at: string, path: string) => statSync(join(at, path)).ino;
    try {
      expect(["src/a.ts", "src/b.ts"].map((path) => readFileSync(join(copy, path), "utf8"))).toEqual([
        "changed, not committed\n",
        "new, not committed\n",
      ]);
      expect(execFileSync("git", ["status", "--porcelain"], { cwd: copy, encoding: "utf8" })).toBe("");
      expect(lstatSync(join(copy, "node_modules")).isSymbolicLink()).toBe(false);
      expect(inode(copy, "node_modules/jest/package.json")).toBe(inode(root, "node_modules/jest/package.json"));
      // What the tests write while they run is the copy's.
      expect(readFileSync(join(copy, "node_modules/.cache/bundles/api.zip"), "utf8")).toBe("zip\n");
      expect(inode(copy, "node_modules/.cache/bundles/api.zip")).not.toBe(inode(root, "node_modules/.cache/bundles/api.zip"));
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
