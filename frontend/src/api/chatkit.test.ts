import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "./http";
import { ChatKitClient, newIdempotencyKey, turnStatus, type StreamEvent } from "./chatkit";

const sse = (frames: string) =>
  new Response(frames, { status: 200, headers: { "Content-Type": "text/event-stream" } });

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("ChatKitClient.stream", () => {
  it("sends the Idempotency-Key when one is given, and none otherwise", async () => {
    const fetchFn = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => sse('data: {"type":"stream_options","stream_options":{"allow_cancel":false}}\n\n'));
    const client = new ChatKitClient(fetchFn as typeof fetch);
    await client.stream("threads.create", { input: {} }, () => {}, { idempotencyKey: "key-123" });
    await client.stream("threads.retry_after_item", { thread_id: "t", item_id: "i" }, () => {});
    const h0 = new Headers(fetchFn.mock.calls[0][1]!.headers);
    const h1 = new Headers(fetchFn.mock.calls[1][1]!.headers);
    expect(h0.get("Idempotency-Key")).toBe("key-123");
    expect(h0.get("Accept")).toBe("text/event-stream");
    expect(h1.has("Idempotency-Key")).toBe(false);
    expect(JSON.parse(fetchFn.mock.calls[0][1]!.body as string)).toEqual({ type: "threads.create", params: { input: {} } });
  });

  it("skips keep-alive comments and hands over each event", async () => {
    const events: StreamEvent[] = [];
    const client = new ChatKitClient((async () =>
      sse(': keep-alive\n\ndata: {"type":"progress_update","text":"Adding a task…"}\n\n: keep-alive\n\n')) as typeof fetch);
    await client.stream("threads.add_user_message", {}, (e) => events.push(e));
    expect(events).toEqual([{ type: "progress_update", text: "Adding a task…" }]);
  });

  it("a refused turn (409 problem+json) throws an ApiError with the server's detail", async () => {
    const client = new ChatKitClient((async () =>
      new Response(JSON.stringify({ type: "https://smart-todo.dev/problems/conflict", title: "Conflict", status: 409, detail: "Only the newest message can be retried." }), {
        status: 409,
        headers: { "Content-Type": "application/problem+json" },
      })) as typeof fetch);
    const err = await client.stream("threads.retry_after_item", {}, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
    expect((err as ApiError).userMessage).toBe("Only the newest message can be retried.");
  });
});

describe("newIdempotencyKey", () => {
  it("is 1–128 visible ASCII characters and new each time", () => {
    const a = newIdempotencyKey();
    const b = newIdempotencyKey();
    expect(a).toMatch(/^[\x21-\x7e]{1,128}$/);
    expect(b).not.toBe(a);
  });

  it("works without crypto.randomUUID (plain-HTTP origins)", () => {
    const real = globalThis.crypto;
    vi.stubGlobal("crypto", { getRandomValues: (b: Uint8Array<ArrayBuffer>) => real.getRandomValues(b) });
    const a = newIdempotencyKey();
    const b = newIdempotencyKey();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(b).not.toBe(a);
  });
});

describe("turnStatus", () => {
  it("reads metadata.turn_status and ignores anything else", () => {
    expect(turnStatus({ id: "t", created_at: "", metadata: { turn_status: "running" } })).toBe("running");
    expect(turnStatus({ id: "t", created_at: "", metadata: { turn_status: "failed" } })).toBe("failed");
    expect(turnStatus({ id: "t", created_at: "", metadata: {} })).toBeNull();
    expect(turnStatus({ id: "t", created_at: "", metadata: { turn_status: "weird" } })).toBeNull();
    expect(turnStatus({ id: "t", created_at: "" })).toBeNull();
  });
});
