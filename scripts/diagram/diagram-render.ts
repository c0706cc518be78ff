/**
 * A diagram as Mermaid flowchart text (GitHub renders it in Markdown) and as SVG drawn by Graphviz
 * (@viz-js/viz, WebAssembly): plain SVG that any viewer shows, laid out left to right as traffic
 * leaves, with the tiers as columns.
 */
import { type Diagram, type DiagramEdge, type DiagramNode, INTERNET, type NodeKind } from "./diagram-graph";

const FILLS: Record<NodeKind, string> = {
  internet: "#f2f2f2",
  "internet-gateway": "#e8e8e8",
  "nat-gateway": "#e8e8e8",
  subnet: "#ffffff",
  "gateway-endpoint": "#e6f2e6",
  "interface-endpoint": "#e6f2e6",
  function: "#fff1d6",
  database: "#dde8f7",
  proxy: "#dde8f7",
  secret: "#f7e3e3",
  key: "#f7e3e3",
  bucket: "#e6f2e6",
  queue: "#fff1d6",
  api: "#efe6f7",
  "api-caller": "#f7e3e3",
  schedule: "#efe6f7",
};
const EDGE_COLORS: Record<DiagramEdge["kind"], string> = { network: "#1f5fbf", iam: "#b35900", route: "#999999", event: "#7a3db8" };
const LEGEND =
  "blue: security groups allow (protocol, port)    orange, dashed: IAM allows (actions)    purple, dotted: events (notifications, schedules, failed invocations)    grey: routes";

// ---- Mermaid ----

/** Mermaid's shape brackets per kind of node. */
const SHAPES: Record<NodeKind, [string, string]> = {
  internet: ["((", "))"],
  "internet-gateway": ["[/", "\\]"],
  "nat-gateway": ["[/", "\\]"],
  subnet: ["[", "]"],
  "gateway-endpoint": ["([", "])"],
  "interface-endpoint": ["([", "])"],
  function: ["(", ")"],
  database: ["[(", ")]"],
  proxy: ["{{", "}}"],
  secret: ["[[", "]]"],
  key: ["[[", "]]"],
  bucket: ["[(", ")]"],
  queue: ["[/", "/]"],
  api: ["[[", "]]"],
  "api-caller": ["[", "]"],
  schedule: ["([", "])"],
};
const ARROWS: Record<DiagramEdge["kind"], string> = { network: "-->", iam: "-.->", route: "==>", event: "--o" };

const mermaidText = (value: string) => value.replace(/"/g, "#quot;");

export function toMermaid(diagram: Diagram): string {
  const lines = ["flowchart LR"];
  const nodeLine = (node: DiagramNode, indent: string) => {
    const [open, close] = SHAPES[node.kind];
    return `${indent}${node.id}${open}"${node.label.filter(Boolean).map(mermaidText).join("<br/>")}"${close}`;
  };
  const groupLines = (parent: string | undefined, indent: string) => {
    for (const node of diagram.nodes.filter((candidate) => candidate.group === parent)) lines.push(nodeLine(node, indent));
    for (const group of diagram.groups.filter((candidate) => candidate.parent === parent)) {
      lines.push(`${indent}subgraph ${group.id}["${mermaidText(group.label)}"]`);
      groupLines(group.id, `${indent}  `);
      lines.push(`${indent}end`);
    }
  };
  groupLines(undefined, "  ");
  for (const edge of diagram.edges)
    lines.push(`  ${edge.from} ${ARROWS[edge.kind]}${edge.label ? `|"${mermaidText(edge.label)}"|` : ""} ${edge.to}`);
  // The colours of the SVG: nodes by kind, edges by what allows them.
  for (const [kind, fill] of Object.entries(FILLS)) {
    const members = diagram.nodes.filter((node) => node.kind === kind).map((node) => node.id);
    const name = kind.replace("-", "_");
    if (members.length > 0) lines.push(`  classDef ${name} fill:${fill},stroke:#666666`, `  class ${members.join(",")} ${name}`);
  }
  for (const [kind, color] of Object.entries(EDGE_COLORS)) {
    const indexes = diagram.edges.flatMap((edge, index) => (edge.kind === kind ? [index] : []));
    if (indexes.length > 0) lines.push(`  linkStyle ${indexes.join(",")} stroke:${color},color:${color}`);
  }
  return `${lines.join("\n")}\n`;
}

// ---- Graphviz ----

/** Graphviz shape per kind of node; subnets are rows of their tier's table instead. */
const DOT_SHAPES: Record<Exclude<NodeKind, "subnet">, string> = {
  internet: "shape=ellipse",
  "internet-gateway": "shape=box",
  "nat-gateway": "shape=box",
  "gateway-endpoint": 'shape=box, style="rounded,filled"',
  "interface-endpoint": 'shape=box, style="rounded,filled"',
  function: 'shape=box, style="rounded,filled"',
  database: "shape=cylinder",
  proxy: "shape=hexagon",
  secret: "shape=note",
  key: "shape=note",
  bucket: "shape=cylinder",
  queue: 'shape=box, style="filled,diagonals"',
  api: 'shape=box, style="filled,bold"',
  "api-caller": "shape=note",
  schedule: 'shape=box, style="rounded,filled,dashed"',
};
const DOT_EDGE_STYLES: Record<DiagramEdge["kind"], string> = {
  network: ", penwidth=1.4",
  iam: ", style=dashed",
  route: "",
  event: ", style=dotted, penwidth=1.4",
};
const GROUP_FILLS: Record<string, string> = {
  vpc: "#fbfbfb",
  tier_public: "#f3f7fd",
  tier_private: "#fdf8ef",
  tier_isolated: "#f6f1fa",
  aws: "#fdf3f3",
};

const quoted = (value: string) => `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
const html = (value: string) => value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * Graphviz DOT, left to right as traffic goes out: the internet and its gateway, then one column per
 * tier (public, private, isolated) with its services beside its subnets, AWS services last. A tier's
 * subnets are one table, a row per zone; an edge to a subnet ends at its row.
 */
export function toDot(diagram: Diagram): string {
  const lines = [
    `digraph ${quoted(diagram.stack)} {`,
    `  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.3, ranksep=0.6, newrank=true, labelloc=b, label=${quoted(`${diagram.stack}:    ${LEGEND}`)}];`,
    '  node [fontname="Helvetica", fontsize=10, style=filled, color="#666666", margin="0.2,0.08"];',
    '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
  ];
  const tableOf = (group: string) => `${group}_subnets`;
  const endOf = new Map(diagram.nodes.map((node) => [node.id, node.kind === "subnet" ? `${tableOf(node.group!)}:${node.id}` : node.id]));
  const tierTables: string[] = [];
  const groupLines = (parent: string | undefined, indent: string) => {
    const members = diagram.nodes.filter((candidate) => candidate.group === parent);
    for (const node of members) {
      if (node.kind === "subnet") continue;
      lines.push(
        `${indent}${node.id} [label=${quoted(node.label.filter(Boolean).join("\n"))}, fillcolor="${FILLS[node.kind]}", ${DOT_SHAPES[node.kind]}];`,
      );
    }
    const subnets = members.filter((node) => node.kind === "subnet");
    if (parent && subnets.length > 0) {
      const rows = subnets.map((node) => `<tr><td port="${node.id}">${node.label.map(html).join("<br/>")}</td></tr>`).join("");
      lines.push(
        `${indent}${tableOf(parent)} [shape=plain, style="", fontsize=9, fontcolor="#555555", label=<<table border="0" cellborder="1" cellspacing="0" cellpadding="6" color="#999999">${rows}</table>>];`,
      );
      tierTables.push(tableOf(parent));
    }
    for (const group of diagram.groups.filter((candidate) => candidate.parent === parent)) {
      lines.push(
        `${indent}subgraph cluster_${group.id} {`,
        `${indent}  label=${quoted(group.label)}; labelloc=t; style="rounded,filled"; color="#aaaaaa"; fillcolor="${GROUP_FILLS[group.id] ?? "#fafafa"}";`,
      );
      groupLines(group.id, `${indent}  `);
      lines.push(`${indent}}`);
    }
  };
  groupLines(undefined, "  ");
  // Columns: each tier's subnets after the previous tier's, a tier's services after its subnets.
  const invisible = (from: string, to: string) => lines.push(`  ${from} -> ${to} [style=invis];`);
  tierTables.slice(1).forEach((table, index) => {
    invisible(tierTables[index], table);
  });
  for (const node of diagram.nodes) {
    if (node.kind !== "subnet" && node.kind !== "nat-gateway" && node.group && tierTables.includes(tableOf(node.group)))
      invisible(tableOf(node.group), node.id);
  }
  for (const edge of diagram.edges) {
    // Routes are drawn from where traffic leaves (arrowheads reversed), so the internet comes first.
    const [from, to, direction] = edge.kind === "route" ? [edge.to, edge.from, ", dir=back"] : [edge.from, edge.to, ""];
    // Traffic out to the internet does not pull the internet after its source.
    const constraint = edge.kind !== "route" && edge.to === INTERNET ? ", constraint=false" : "";
    const color = EDGE_COLORS[edge.kind];
    lines.push(
      `  ${endOf.get(from)} -> ${endOf.get(to)} [label=${quoted(edge.label)}, color="${color}", fontcolor="${color}"${DOT_EDGE_STYLES[edge.kind]}${direction}${constraint}];`,
    );
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** The diagram as SVG, laid out by Graphviz. */
export async function toSvg(diagram: Diagram): Promise<string> {
  const { instance } = await import("@viz-js/viz");
  return (await instance()).renderString(toDot(diagram), { format: "svg" });
}
