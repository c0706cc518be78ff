/**
 * npm run docs:api [-- --check]
 *
 * Writes docs/API.md, the reference of what the library's entries export (src/index.ts, and
 * functions/runtime.ts for handlers), from the TSDoc of their declarations: each class with its
 * constructor, public properties and methods, each props interface with its fields and `@default`s,
 * each function, type and constant. With --check it writes nothing and exits 1 when docs/API.md is
 * not what the sources give. The TypeScript 5 compiler API reads them: TypeScript 7 has no
 * JavaScript API, and TypeDoc needs one.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript5";
import { runCli, takeFlag } from "../cli/cli-args";

const projectRoot = resolve(__dirname, "..", "..");
export const API_REFERENCE = join(projectRoot, "docs", "API.md");
/** The entries, as `package.json` exports them. */
const ENTRIES = [
  { specifier: "lambda-rds-iam", file: join(projectRoot, "src", "index.ts") },
  { specifier: "lambda-rds-iam/runtime", file: join(projectRoot, "functions", "runtime.ts") },
];

const cell = (text: string) => text.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
const code = (text: string) => `\`${cell(text)}\``;

function docOf(symbol: ts.Symbol, checker: ts.TypeChecker): { text: string; defaultValue?: string } {
  const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  const tag = symbol.getJsDocTags(checker).find((t) => t.name === "default");
  return { text, defaultValue: tag ? ts.displayPartsToString(tag.text).trim() : undefined };
}

/** A member's type as its declaration writes it (short and stable), else as the checker prints it. */
function typeText(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  const declaration = symbol.valueDeclaration ?? symbol.declarations?.[0];
  const written = declaration && "type" in declaration ? (declaration.type as ts.TypeNode | undefined) : undefined;
  if (written) return written.getText();
  return declaration ? checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, declaration)) : "unknown";
}

const isPublic = (declaration: ts.Declaration) =>
  !(ts.getCombinedModifierFlags(declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) &&
  !(ts.isPropertyDeclaration(declaration) || ts.isMethodDeclaration(declaration) ? ts.isPrivateIdentifier(declaration.name) : false);

/** Members declared by the class or interface itself (not inherited from cdktf or constructs). */
function ownMembers(symbol: ts.Symbol, table: ts.SymbolTable | undefined): ts.Symbol[] {
  const members: ts.Symbol[] = [];
  table?.forEach((member, name) => {
    const declaration = member.declarations?.[0];
    if (!declaration || name === "__constructor" || name === "prototype" || !isPublic(declaration)) return;
    if (declaration.parent && symbol.declarations?.includes(declaration.parent as ts.Declaration)) members.push(member);
  });
  return members;
}

function signatureOf(symbol: ts.Symbol, checker: ts.TypeChecker, name = symbol.name): string {
  const declaration = symbol.valueDeclaration ?? symbol.declarations![0];
  const signatures = checker.getTypeOfSymbolAtLocation(symbol, declaration).getCallSignatures();
  return signatures.map((signature) => `${name}${checker.signatureToString(signature)}`).join("\n");
}

function memberRows(members: ts.Symbol[], checker: ts.TypeChecker, withDefaults: boolean): string[] {
  if (members.length === 0) return [];
  const header = withDefaults
    ? ["| Name | Type | Default | Description |", "| --- | --- | --- | --- |"]
    : ["| Name | Type | Description |", "| --- | --- | --- |"];
  return [
    ...header,
    ...members.map((member) => {
      const doc = docOf(member, checker);
      const optional = member.flags & ts.SymbolFlags.Optional ? "?" : "";
      const cells = [code(`${member.name}${optional}`), code(typeText(member, checker))];
      if (withDefaults) cells.push(doc.defaultValue ? cell(doc.defaultValue) : optional ? "" : "required");
      return `| ${[...cells, cell(doc.text)].join(" | ")} |`;
    }),
    "",
  ];
}

function describeSymbol(symbol: ts.Symbol, checker: ts.TypeChecker): string[] {
  const declaration = symbol.declarations![0];
  const source = relative(join(projectRoot, "docs"), declaration.getSourceFile().fileName);
  const lines = [
    `#### ${symbol.name}`,
    "",
    docOf(symbol, checker).text || (symbol.name.endsWith("Props") ? `What \`${symbol.name.slice(0, -5)}\` takes.` : ""),
    "",
    `Source: [${relative(projectRoot, declaration.getSourceFile().fileName)}](${source})`,
    "",
  ];
  if (symbol.flags & ts.SymbolFlags.Class) {
    const ctor = symbol.members?.get("__constructor" as ts.__String);
    const ctorDeclaration = ctor?.declarations?.[0] as ts.ConstructorDeclaration | undefined;
    if (ctorDeclaration && isPublic(ctorDeclaration)) {
      const params = ctorDeclaration.parameters
        .map((p) => p.getText().replace(/^(private|public|protected)?\s*readonly\s+/, ""))
        .join(", ");
      lines.push("```ts", `new ${symbol.name}(${params})`, "```", "");
    }
    const statics = ownMembers(symbol, symbol.exports).filter((member) => member.flags & ts.SymbolFlags.Method);
    const instance = ownMembers(symbol, symbol.members);
    const methods = [
      ...statics.map((m) => [m, `${symbol.name}.${m.name}`] as const),
      ...instance
        .filter((m) => m.flags & (ts.SymbolFlags.Method | ts.SymbolFlags.GetAccessor) && m.flags & ts.SymbolFlags.Method)
        .map((m) => [m, m.name] as const),
    ];
    lines.push(
      ...memberRows(
        instance.filter((m) => !(m.flags & ts.SymbolFlags.Method)),
        checker,
        false,
      ),
    );
    for (const [method, name] of methods) {
      lines.push("```ts", signatureOf(method, checker, name), "```", "", docOf(method, checker).text, "");
    }
  } else if (symbol.flags & ts.SymbolFlags.Interface) {
    lines.push(...memberRows(ownMembers(symbol, symbol.members), checker, true));
  } else if (symbol.flags & ts.SymbolFlags.Function) {
    lines.push("```ts", signatureOf(symbol, checker), "```", "");
  } else if (symbol.flags & ts.SymbolFlags.TypeAlias) {
    const text = declaration.getText().replace(/^export\s+/, "");
    lines.push("```ts", text.length <= 400 ? text : `type ${symbol.name} = ... // see the source`, "```", "");
  } else if (symbol.flags & ts.SymbolFlags.Variable) {
    lines.push("```ts", `const ${symbol.name}: ${checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, declaration))}`, "```", "");
  }
  return lines;
}

const KINDS: readonly [string, ts.SymbolFlags][] = [
  ["Constructs and classes", ts.SymbolFlags.Class],
  ["Props and other interfaces", ts.SymbolFlags.Interface],
  ["Functions", ts.SymbolFlags.Function],
  ["Types", ts.SymbolFlags.TypeAlias],
  ["Constants", ts.SymbolFlags.Variable],
];

/** docs/API.md as the sources give it. */
export function renderApiReference(): string {
  const program = ts.createProgram(
    ENTRIES.map((entry) => entry.file),
    {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      skipLibCheck: true,
      noEmit: true,
      types: ["node"],
    },
  );
  const checker = program.getTypeChecker();
  const lines = [
    "# API reference",
    "",
    "Generated by `npm run docs:api` from the TSDoc of what the library's entries export; `npm test` fails when it is stale.",
    "The README's [Using the library](../README.md#using-the-library) shows the constructs composed.",
    "",
  ];
  for (const entry of ENTRIES) {
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry.file)!)!;
    const symbols = checker.getExportsOfModule(moduleSymbol).map((s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s));
    lines.push(`## \`${entry.specifier}\``, "");
    for (const [title, flag] of KINDS) {
      const ofKind = symbols.filter(
        (symbol) => symbol.flags & flag && !(flag === ts.SymbolFlags.Variable && symbol.flags & ts.SymbolFlags.Class),
      );
      if (ofKind.length === 0) continue;
      lines.push(`### ${title}`, "");
      for (const symbol of ofKind) lines.push(...describeSymbol(symbol, checker));
    }
  }
  return `${lines
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()}\n`;
}

function main(args: string[]): number {
  const check = takeFlag(args, "--check");
  if (args.length > 0) throw new Error("usage: npm run docs:api [-- --check]");
  const rendered = renderApiReference();
  if (check) {
    if (readFileSync(API_REFERENCE, "utf8") === rendered) return 0;
    console.error(`${relative(projectRoot, API_REFERENCE)} is stale: run npm run docs:api`);
    return 1;
  }
  writeFileSync(API_REFERENCE, rendered);
  console.log(`wrote ${relative(projectRoot, API_REFERENCE)}`);
  return 0;
}

runCli(module, main);
