/** A line of the object, numbered from 1; a line longer than the limit is counted but never held. */
export type Line = { readonly number: number; readonly text: string } | { readonly number: number; readonly tooLongBytes: number };

/**
 * Splits a byte stream into lines (LF or CRLF) holding at most one line of at most `maxBytes` in
 * memory, whatever the stream's size: a line past the limit is dropped as it arrives, so an object
 * with no line breaks at all costs no more than a good one. Blank lines are skipped but counted.
 */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Line> {
  let parts: Uint8Array[] = [];
  let size = 0;
  let number = 0;
  const take = (piece: Uint8Array) => {
    size += piece.byteLength;
    if (size <= maxBytes) parts.push(piece);
    else parts = [];
  };
  const finish = (): Line | undefined => {
    number++;
    const line: Line | undefined =
      size > maxBytes
        ? { number, tooLongBytes: size }
        : size === 0
          ? undefined
          : { number, text: Buffer.concat(parts, size).toString("utf8").replace(/\r$/, "") };
    parts = [];
    size = 0;
    return line;
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (let end = chunk.indexOf(10, start); end !== -1; end = chunk.indexOf(10, start)) {
      take(chunk.subarray(start, end));
      const line = finish();
      if (line && !("text" in line && line.text === "")) yield line;
      start = end + 1;
    }
    if (start < chunk.byteLength) take(chunk.subarray(start));
  }
  if (size > 0) {
    const line = finish();
    if (line) yield line;
  }
}
