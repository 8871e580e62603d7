import { describe, expect, it } from "vitest";
import type { StreamEvent } from "../api/chatkit";
import { chatReducer, initialChatState, type ChatAction, type ChatState } from "./chatState";

const user = (id: string, text: string) => ({
  id,
  thread_id: "thr_1",
  created_at: "2026-01-01T00:00:00Z",
  type: "user_message" as const,
  content: [{ type: "input_text" as const, text }],
  attachments: [],
  inference_options: {},
});
const assistant = (id: string, text: string | null) => ({
  id,
  thread_id: "thr_1",
  created_at: "2026-01-01T00:00:01Z",
  type: "assistant_message" as const,
  content: text === null ? [] : [{ type: "output_text" as const, text, annotations: [] }],
});
const delta = (id: string, d: string): StreamEvent => ({
  type: "thread.item.updated",
  item_id: id,
  update: { type: "assistant_message.content_part.text_delta", content_index: 0, delta: d },
});

function run(actions: ChatAction[], from: ChatState = initialChatState) {
  return actions.reduce(chatReducer, from);
}
const ev = (event: StreamEvent): ChatAction => ({ type: "event", event });

describe("chatReducer", () => {
  it("shows the user message at once and replaces it with the server's copy", () => {
    let s = run([{ type: "send", text: "hi", localKey: "l1" }]);
    expect(s.busy).toBe(true);
    expect(s.messages).toEqual([{ key: "l1", id: null, role: "user", parts: ["hi"], streaming: false }]);
    s = run([ev({ type: "thread.created", thread: { id: "thr_1", created_at: "" } }), ev({ type: "thread.item.done", item: user("m1", "hi") })], s);
    expect(s.threadId).toBe("thr_1");
    expect(s.messages).toEqual([{ key: "l1", id: "m1", role: "user", parts: ["hi"], streaming: false }]);
  });

  it("streams deltas into the assistant message and finishes with the final text", () => {
    let s = run([
      { type: "send", text: "hi", localKey: "l1" },
      ev({ type: "thread.item.done", item: user("m1", "hi") }),
      ev({ type: "progress_update", text: "Listing tasks" }),
      ev({ type: "thread.item.added", item: assistant("m2", null) }),
      ev(delta("m2", "Hel")),
      ev(delta("m2", "lo")),
    ]);
    expect(s.progress).toBe("Listing tasks");
    expect(s.messages[1]).toMatchObject({ id: "m2", role: "assistant", parts: ["Hello"], streaming: true });
    s = run([ev({ type: "thread.item.done", item: assistant("m2", "Hello!") }), { type: "finished" }], s);
    expect(s.messages[1]).toMatchObject({ parts: ["Hello!"], streaming: false });
    expect(s).toMatchObject({ busy: false, progress: null, error: null });
  });

  it("an error event drops the partial reply and offers a retry after the confirmed user message", () => {
    const s = run([
      { type: "send", text: "hi", localKey: "l1" },
      ev({ type: "thread.created", thread: { id: "thr_1", created_at: "" } }),
      ev({ type: "thread.item.done", item: user("m1", "hi") }),
      ev({ type: "thread.item.added", item: assistant("m2", null) }),
      ev(delta("m2", "Hal")),
      ev({ type: "error", code: "custom", message: "Model down", allow_retry: true }),
      { type: "finished" },
    ]);
    expect(s.busy).toBe(false);
    expect(s.messages.map((m) => m.id)).toEqual(["m1"]);
    expect(s.error).toEqual({ message: "Model down", retry: { kind: "after_item", threadId: "thr_1", itemId: "m1" } });
  });

  it("an error event without allow_retry offers no retry", () => {
    const s = run([{ type: "send", text: "hi", localKey: "l1" }, ev({ type: "error", message: "No." })]);
    expect(s.error).toEqual({ message: "No.", retry: null });
  });

  it("a network failure before the server saw the message offers to send it again", () => {
    let s = run([{ type: "send", text: "hi", localKey: "l1" }, { type: "failed", message: "offline" }]);
    expect(s.error).toEqual({ message: "offline", retry: { kind: "resend", text: "hi" } });
    expect(s.messages).toHaveLength(1); // still shown until the retry
    s = chatReducer(s, { type: "retry", plan: s.error!.retry! });
    expect(s.messages).toHaveLength(0);
  });

  it("a stream that closes before the reply is done counts as interrupted", () => {
    const s = run([
      { type: "send", text: "hi", localKey: "l1" },
      ev({ type: "thread.created", thread: { id: "thr_1", created_at: "" } }),
      ev({ type: "thread.item.done", item: user("m1", "hi") }),
      ev({ type: "thread.item.added", item: assistant("m2", null) }),
      ev(delta("m2", "Hal")),
      { type: "finished" },
    ]);
    expect(s.error?.retry).toEqual({ kind: "after_item", threadId: "thr_1", itemId: "m1" });
    expect(s.messages.map((m) => m.id)).toEqual(["m1"]);
  });

  it("retry after an item removes everything after it", () => {
    const loaded = chatReducer(initialChatState, {
      type: "loaded",
      threadId: "thr_1",
      items: [user("m1", "a"), assistant("m2", "b"), user("m3", "c"), assistant("m4", "d")],
    });
    const s = chatReducer(loaded, { type: "retry", plan: { kind: "after_item", threadId: "thr_1", itemId: "m3" } });
    expect(s.messages.map((m) => m.id)).toEqual(["m1", "m2", "m3"]);
    expect(s.busy).toBe(true);
  });

  it("content_part.added and .done set the part text", () => {
    const s = run([
      ev({ type: "thread.item.added", item: assistant("m2", null) }),
      ev({ type: "thread.item.updated", item_id: "m2", update: { type: "assistant_message.content_part.added", content_index: 0, content: { type: "output_text", text: "A" } } }),
      ev(delta("m2", "B")),
      ev({ type: "thread.item.updated", item_id: "m2", update: { type: "assistant_message.content_part.done", content_index: 0, content: { type: "output_text", text: "AB!" } } }),
    ]);
    expect(s.messages[0].parts).toEqual(["AB!"]);
  });
});
