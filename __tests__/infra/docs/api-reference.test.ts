import { readFileSync } from "node:fs";
import { API_REFERENCE, renderApiReference } from "../../../scripts/docs/api-reference";

describe("docs/API.md", () => {
  it("is what the TSDoc of the library's exports gives (npm run docs:api writes it)", () => {
    expect(readFileSync(API_REFERENCE, "utf8")).toBe(renderApiReference());
  });
});
