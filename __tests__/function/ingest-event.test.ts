import { compareSequencers, parseEvent } from "../../functions/ingest/event";

describe("S3 sequencers", () => {
  it("compare as S3 says: the shorter left-padded with zeros, then as strings, case aside", () => {
    expect(compareSequencers("0055AED6DCD90281E5", "0055AED6DCD90281E6")).toBeLessThan(0);
    // Without the padding "FF" would sort after "100".
    expect(compareSequencers("FF", "100")).toBeLessThan(0);
    expect(compareSequencers("100", "FF")).toBeGreaterThan(0);
    expect(compareSequencers("00A", "a")).toBe(0);
  });
});

describe("parseEvent", () => {
  it("decodes keys, keeps version ids and drops empty ones, for every record", () => {
    const record = (key: string, object: Record<string, string>) => ({
      eventSource: "aws:s3",
      eventName: "ObjectCreated:CompleteMultipartUpload",
      s3: { bucket: { name: "data" }, object: { key, sequencer: "0A", ...object } },
    });
    expect(
      parseEvent({ Records: [record("incoming/a+b%2Bc.jsonl", { versionId: "v1" }), record("incoming/x", { versionId: "", eTag: "e" })] }),
    ).toEqual({
      kind: "objects",
      records: [
        { bucket: "data", key: "incoming/a b+c.jsonl", versionId: "v1", eTag: undefined, sequencer: "0A" },
        { bucket: "data", key: "incoming/x", versionId: undefined, eTag: "e", sequencer: "0A" },
      ],
    });
  });

  it("refuses a record without a hexadecimal sequencer, naming its key", () => {
    const event = {
      Records: [
        {
          eventSource: "aws:s3",
          eventName: "ObjectCreated:Put",
          s3: { bucket: { name: "data" }, object: { key: "incoming/a", sequencer: "xyz" } },
        },
      ],
    };
    expect(() => parseEvent(event)).toThrow('and got record 0 ("incoming/a") whose s3.object.sequencer is "xyz", not hexadecimal;');
  });
});
