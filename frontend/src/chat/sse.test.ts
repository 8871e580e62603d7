import { describe, expect, it } from "vitest";
import { SseParser, readEventStream } from "./sse";

describe("SseParser", () => {
  it("yields one payload per frame", () => {
    const p = new SseParser();
    expect(p.push('data: {"a":1}\n\ndata: {"b":2}\n\n')).toEqual(['{"a":1}', '{"b":2}']);
  });

  it("joins a frame split across chunks at any byte", () => {
    const text = 'data: {"type":"x","delta":"héllo"}\n\ndata: {"n":2}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const out = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(out).toEqual(['{"type":"x","delta":"héllo"}', '{"n":2}']);
    }
  });

  it("accepts CRLF and CR line ends, including a CRLF split between chunks", () => {
    const p = new SseParser();
    expect(p.push("data: one\r")).toEqual([]);
    expect(p.push("\n\r\ndata: two\r\r")).toEqual(["one", "two"]);
  });

  it("joins multi-line data with newlines and ignores comments and other fields", () => {
    const p = new SseParser();
    expect(p.push(": keep-alive\nevent: message\nid: 7\ndata: a\ndata:b\n\n")).toEqual(["a\nb"]);
  });

  it("ignores `: keep-alive` comments between, before and inside frames, however they are split", () => {
    const text = ': keep-alive\n\ndata: {"n":1}\n\n: keep-alive\n\n: keep-alive\n\ndata: {"n":2}\n: keep-alive\ndata: {"m":3}\n\n:\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new SseParser();
      const out = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(out).toEqual(['{"n":1}', '{"n":2}\n{"m":3}']);
    }
    expect(new SseParser().push(": keep-alive\n\n: keep-alive\r\n\r\n")).toEqual([]);
  });

  it("drops an unterminated event at the end", () => {
    const p = new SseParser();
    expect(p.push("data: partial")).toEqual([]);
    expect(p.end()).toEqual([]);
  });
});

describe("readEventStream", () => {
  it("decodes UTF-8 split inside a character and delivers frames as they complete", async () => {
    const bytes = new TextEncoder().encode('data: "naïve ✓"\n\ndata: "two"\n\n');
    const seen: string[] = [];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
        c.close();
      },
    });
    await readEventStream(body, (d) => seen.push(d));
    expect(seen).toEqual(['"naïve ✓"', '"two"']);
  });
});

describe("readEventStream with keep-alives", () => {
  it("delivers only the data frames of a stream that idles with comments", async () => {
    const chunks = [": keep-", "alive\n\n", 'data: {"type":"thread.item.done"}\n\n', ": keep-alive\n\n", ": keep-alive\n", "\ndata: 2\n\n"];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(new TextEncoder().encode(ch));
        c.close();
      },
    });
    const seen: string[] = [];
    await readEventStream(body, (d) => seen.push(d));
    expect(seen).toEqual(['{"type":"thread.item.done"}', "2"]);
  });
});
