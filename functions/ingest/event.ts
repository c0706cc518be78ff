/**
 * What the ingest function accepts: S3 event notifications of created objects, and S3's test event.
 * Anything else was routed here by mistake, and is refused with an error that says what it was.
 */

/** One created object version, as an S3 event notification record names it. */
export interface ObjectCreatedRecord {
  readonly bucket: string;
  /** Decoded: S3 sends keys URL-encoded, spaces as "+". */
  readonly key: string;
  /** Set in a versioned bucket. */
  readonly versionId?: string;
  readonly eTag?: string;
  /** Orders the events of one key: hexadecimal, comparable with compareSequencers. */
  readonly sequencer: string;
}

export type IngestEvent =
  | { readonly kind: "test"; readonly bucket?: string }
  | { readonly kind: "objects"; readonly records: ObjectCreatedRecord[] };

/** An invocation that is neither an S3 notification of created objects nor S3's test event. */
export class UnexpectedEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnexpectedEventError";
  }
}

const SEQUENCER = /^[0-9A-Fa-f]{1,64}$/;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
const quoted = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** What arrived, in a few words: never the whole event (it may hold data). */
export function describeEvent(event: unknown): string {
  if (event === undefined || event === null) return `no event (${event})`;
  if (Array.isArray(event)) return `a JSON array of ${event.length} elements`;
  if (!isObject(event)) return `a ${typeof event} (${quoted(event)})`;
  if ("detail-type" in event && "source" in event) {
    return `an EventBridge event (source ${quoted(event.source)}, detail-type ${quoted(event["detail-type"])})`;
  }
  if (Array.isArray(event.Records)) {
    const sources = [
      ...new Set(event.Records.map((record) => (isObject(record) ? (record.eventSource ?? record.EventSource) : undefined))),
    ];
    return `${event.Records.length} ${event.Records.length === 1 ? "record" : "records"} from ${sources.map((source) => (source === undefined ? "no eventSource" : quoted(source))).join(", ")}`;
  }
  const fields = Object.keys(event);
  return fields.length === 0
    ? "an empty object"
    : `an object with fields ${fields.slice(0, 10).join(", ")}${fields.length > 10 ? ", ..." : ""}`;
}

const refuse = (what: string): never => {
  throw new UnexpectedEventError(
    `the ingest function takes S3 event notifications of created objects (Records of eventSource "aws:s3", eventName ObjectCreated:*) and got ${what}; ` +
      "only the data bucket's notification should invoke it",
  );
};

// Keys arrive URL-encoded, spaces as "+".
const decodeKey = (key: string) => decodeURIComponent(key.replace(/\+/g, " "));

function objectCreated(record: unknown, index: number): ObjectCreatedRecord {
  if (!isObject(record)) return refuse(`record ${index} that is ${describeEvent(record)}`);
  if (typeof record.eventName !== "string" || !record.eventName.startsWith("ObjectCreated:")) {
    return refuse(`record ${index} of S3 event ${quoted(record.eventName)}`);
  }
  const s3 = isObject(record.s3) ? record.s3 : {};
  const bucket = isObject(s3.bucket) ? s3.bucket.name : undefined;
  const object = isObject(s3.object) ? s3.object : {};
  if (typeof bucket !== "string" || typeof object.key !== "string")
    return refuse(`record ${index} of ${record.eventName} without s3.bucket.name or s3.object.key`);
  if (typeof object.sequencer !== "string" || !SEQUENCER.test(object.sequencer)) {
    return refuse(`record ${index} (${quoted(object.key)}) whose s3.object.sequencer is ${quoted(object.sequencer)}, not hexadecimal`);
  }
  const optional = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  return {
    bucket,
    key: decodeKey(object.key),
    versionId: optional(object.versionId),
    eTag: optional(object.eTag),
    sequencer: object.sequencer,
  };
}

/** The event as the function handles it; throws UnexpectedEventError, before anything is done, for anything else. */
export function parseEvent(event: unknown): IngestEvent {
  // S3 sends this once, when the notification is set up or changed.
  if (isObject(event) && event.Service === "Amazon S3" && event.Event === "s3:TestEvent") {
    return { kind: "test", bucket: typeof event.Bucket === "string" ? event.Bucket : undefined };
  }
  if (!isObject(event) || !Array.isArray(event.Records)) return refuse(describeEvent(event));
  if (event.Records.length === 0) return refuse("an event with no records");
  if (event.Records.some((record) => !isObject(record) || record.eventSource !== "aws:s3")) return refuse(describeEvent(event));
  return { kind: "objects", records: event.Records.map(objectCreated) };
}

/**
 * Orders two sequencers of the same key (negative: `a` happened first). S3's rule: left-pad the
 * shorter with zeros, then compare as strings; sequencers of different keys are not comparable.
 */
export function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const [left, right] = [a.toUpperCase().padStart(width, "0"), b.toUpperCase().padStart(width, "0")];
  return left < right ? -1 : left > right ? 1 : 0;
}
