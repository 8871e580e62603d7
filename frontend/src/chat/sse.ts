/**
 * An incremental parser for `text/event-stream` bodies (the WHATWG event-stream format): feed it decoded
 * chunks as they arrive, get back the `data` payload of every event completed so far. Handles frames split
 * anywhere (even inside a CRLF), LF / CRLF / CR line ends, multi-line `data`, comments and other fields.
 */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private pendingCR = false;

  /** Feeds a chunk; returns the payloads of the events it completed. */
  push(chunk: string): string[] {
    const out: string[] = [];
    let text = chunk;
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (this.pendingCR) {
      this.pendingCR = false;
      if (text.startsWith("\n")) text = text.slice(1);
    }
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== "\n" && c !== "\r") continue;
      this.line(this.buffer.slice(start, i), out);
      if (c === "\r") {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === "\n") i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** Ends the stream. Per the spec an event not terminated by a blank line is dropped. */
  end(): string[] {
    this.buffer = "";
    this.data = [];
    this.pendingCR = false;
    return [];
  }

  private line(line: string, out: string[]) {
    if (line === "") {
      if (this.data.length > 0) out.push(this.data.join("\n"));
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    // `event`, `id` and `retry` are not used by the ChatKit protocol.
  }
}

/** Reads a streaming response body and calls `onData` with each event's payload as soon as it completes. */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onData: (data: string) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const data of parser.push(decoder.decode(value, { stream: true }))) onData(data);
    }
    for (const data of parser.push(decoder.decode())) onData(data);
    parser.end();
  } finally {
    reader.releaseLock();
  }
}
