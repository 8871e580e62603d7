import { describe, expect, it } from "vitest";
import type { StreamEvent, Thread, ThreadItem } from "../api/chatkit";
import {
  MAX_POLLS,
  MESSAGES,
  answerRequest,
  chatReducer,
  initialChatState,
  openQuestion,
  requestOf,
  turnRequest,
  type ChatAction,
  type ChatState,
} from "./chatState";

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
/** A question as the server sends it: one multiple-choice input `confirm` with Yes and No. */
const question = (id: string, status: "pending" | "answered" | "skipped" = "pending", text = "Delete these 3 tasks?"): ThreadItem => ({
  id,
  thread_id: "thr_1",
  created_at: "2026-01-01T00:00:02Z",
  type: "structured_input",
  status,
  inputs: [
    {
      type: "multiple_choice",
      id: "confirm",
      question: text,
      options: [{ value: "Yes" }, { value: "No" }],
      multiple: false,
      answer: status === "answered" ? { values: ["Yes"], skipped: false } : status === "skipped" ? { values: [], skipped: true } : null,
    },
  ],
});
const delta = (id: string, d: string): StreamEvent => ({
  type: "thread.item.updated",
  item_id: id,
  update: { type: "assistant_message.content_part.text_delta", content_index: 0, delta: d },
});
const thread = (status?: "running" | "done" | "failed", id = "thr_1"): Thread => ({
  id,
  created_at: "",
  metadata: status ? { turn_status: status } : {},
});

function run(actions: ChatAction[], from: ChatState = initialChatState) {
  return actions.reduce(chatReducer, from);
}
const ev = (event: StreamEvent): ChatAction => ({ type: "event", event });
/** Sends `text` as a new turn (with key `key`) from state `s`. */
const send = (s: ChatState, text: string, localKey = "l1", key = "key-1"): ChatState =>
  chatReducer(s, { type: "send", text, localKey, request: turnRequest(s.threadId, text, key) });
const loaded = (items: ThreadItem[], status?: "running" | "done" | "failed") =>
  chatReducer(initialChatState, { type: "loaded", thread: thread(status), items });
const userBubbles = (s: ChatState) => s.messages.filter((m) => m.role === "user").map((m) => m.parts[0]);

describe("chatReducer", () => {
  it("shows the user message at once and replaces it with the server's copy", () => {
    let s = send(initialChatState, "hi");
    expect(s.busy).toBe(true);
    expect(s.messages).toEqual([{ key: "l1", id: null, role: "user", parts: ["hi"], streaming: false }]);
    s = run([ev({ type: "thread.created", thread: { id: "thr_1", created_at: "" } }), ev({ type: "thread.item.done", item: user("m1", "hi") })], s);
    expect(s.threadId).toBe("thr_1");
    expect(s.messages).toEqual([{ key: "l1", id: "m1", role: "user", parts: ["hi"], streaming: false }]);
    expect(s.turn?.userItemId).toBe("m1");
  });

  it("a new turn is threads.create without a thread, add_user_message in one, each with its key", () => {
    const first = send(initialChatState, "hi", "l1", "k1");
    expect(first.turn?.request).toEqual({
      op: "threads.create",
      params: { input: { content: [{ type: "input_text", text: "hi" }], attachments: [], inference_options: {} } },
      key: "k1",
    });
    const next = send(loaded([user("m1", "a"), assistant("m2", "b")]), "more", "l2", "k2");
    expect(next.turn?.request).toMatchObject({ op: "threads.add_user_message", params: { thread_id: "thr_1" }, key: "k2" });
    expect(next.turn?.knownIds).toEqual(["m1", "m2"]);
  });

  it("streams deltas into the assistant message and finishes with the final text", () => {
    let s = run([
      ev({ type: "thread.item.done", item: user("m1", "hi") }),
      ev({ type: "progress_update", text: "Listing tasks" }),
      ev({ type: "thread.item.added", item: assistant("m2", null) }),
      ev(delta("m2", "Hel")),
      ev(delta("m2", "lo")),
    ], send(initialChatState, "hi"));
    expect(s.progress).toBe("Listing tasks");
    expect(s.messages[1]).toMatchObject({ id: "m2", role: "assistant", parts: ["Hello"], streaming: true });
    s = run([ev({ type: "thread.item.done", item: assistant("m2", "Hello!") }), { type: "finished" }], s);
    expect(s.messages[1]).toMatchObject({ parts: ["Hello!"], streaming: false });
    expect(s).toMatchObject({ busy: false, progress: null, error: null, turn: null, recovering: null });
  });

  it("an error event drops the partial reply and offers to resend the same request, same key", () => {
    const s = run([
      ev({ type: "thread.created", thread: { id: "thr_1", created_at: "" } }),
      ev({ type: "thread.item.done", item: user("m1", "hi") }),
      ev({ type: "thread.item.added", item: assistant("m2", null) }),
      ev(delta("m2", "Hal")),
      ev({ type: "error", code: "custom", message: "Model down", allow_retry: true }),
      { type: "finished" },
    ], send(initialChatState, "hi", "l1", "k-77"));
    expect(s.busy).toBe(false);
    expect(s.messages.map((m) => m.id)).toEqual(["m1"]);
    expect(s.error?.message).toBe("Model down");
    expect(s.error?.retry).toEqual({ kind: "resend", request: expect.objectContaining({ op: "threads.create", key: "k-77" }) });
  });

  it("an error event without allow_retry offers no retry and ends the turn", () => {
    const s = run([ev({ type: "error", message: "No." })], send(initialChatState, "hi"));
    expect(s.error).toEqual({ message: "No.", retry: null });
    expect(s.turn).toBeNull();
  });

  it("a busy error keeps the unsent copy; the retry resends it with the same key and the server copy replaces it", () => {
    let s = send(loaded([user("m1", "a"), assistant("m2", "b")]), "c", "l9", "k-busy");
    s = chatReducer(s, ev({ type: "error", code: "custom", message: "Another reply is still being written.", allow_retry: true }));
    expect(s.error?.message).toBe("Another reply is still being written.");
    expect(userBubbles(s)).toEqual(["a", "c"]);
    const plan = s.error!.retry!;
    expect(requestOf(plan)).toMatchObject({ op: "threads.add_user_message", key: "k-busy" });
    s = chatReducer(s, { type: "retry", plan });
    expect(s).toMatchObject({ busy: true, error: null });
    expect(userBubbles(s)).toEqual(["a", "c"]);
    s = run([ev({ type: "thread.item.done", item: user("m3", "c") }), ev({ type: "thread.item.done", item: assistant("m4", "d") }), { type: "finished" }], s);
    expect(s.messages.map((m) => [m.key, m.id])).toEqual([["m1", "m1"], ["m2", "m2"], ["l9", "m3"], ["m4", "m4"]]);
    expect(s.error).toBeNull();
  });

  it("a network failure before the thread exists offers to send it again with the same key, keeping one copy", () => {
    let s = chatReducer(send(initialChatState, "hi", "l1", "k-net"), { type: "dropped", message: "offline" });
    expect(s.recovering).toBeNull(); // no thread to look at
    expect(s.error).toEqual({ message: "offline", retry: { kind: "resend", request: expect.objectContaining({ key: "k-net", op: "threads.create" }) } });
    expect(userBubbles(s)).toEqual(["hi"]);
    s = chatReducer(s, { type: "retry", plan: s.error!.retry! });
    expect(userBubbles(s)).toEqual(["hi"]);
    expect(s.turn?.request.key).toBe("k-net");
  });

  it("a dropped stream in a known thread is checked by reloading it first", () => {
    const s = run(
      [ev({ type: "thread.created", thread: { id: "thr_1", created_at: "" } }), ev({ type: "thread.item.done", item: user("m1", "hi") }), ev({ type: "thread.item.added", item: assistant("m2", null) }), ev(delta("m2", "Par")), { type: "dropped", message: "offline" }],
      send(initialChatState, "hi"),
    );
    expect(s).toMatchObject({ busy: true, error: null, recovering: { phase: "checking", attempt: 0 } });
    expect(s.messages.map((m) => m.id)).toEqual(["m1"]); // the partial reply is not kept
  });

  it("a stream that closes before the reply is done is checked the same way", () => {
    const s = run(
      [ev({ type: "thread.created", thread: { id: "thr_1", created_at: "" } }), ev({ type: "thread.item.done", item: user("m1", "hi") }), { type: "finished" }],
      send(initialChatState, "hi"),
    );
    expect(s.recovering).toMatchObject({ phase: "checking", cause: MESSAGES.interrupted });
    expect(s.busy).toBe(true);
  });

  it("a drop after the reply was done is no failure", () => {
    const s = run(
      [ev({ type: "thread.item.done", item: user("m1", "hi") }), ev({ type: "thread.item.done", item: assistant("m2", "yo") }), { type: "dropped", message: "offline" }],
      send(loaded([]), "hi"),
    );
    expect(s).toMatchObject({ busy: false, error: null, recovering: null, turn: null });
  });

  describe("after a drop, the reload decides", () => {
    const dropped = () => {
      // An existing conversation; the new message "c" went out, the stream dropped before any event.
      const s = send(loaded([user("m1", "a"), assistant("m2", "b")]), "c", "l5", "k-5");
      return chatReducer(s, { type: "dropped", message: "Could not reach the server." });
    };

    it("the reply is stored: shown, no error, one copy of the message under its local key", () => {
      const s = chatReducer(dropped(), {
        type: "reconciled",
        thread: thread("done"),
        items: [user("m1", "a"), assistant("m2", "b"), user("m3", "c"), assistant("m4", "d")],
      });
      expect(s).toMatchObject({ busy: false, error: null, recovering: null, turn: null });
      expect(s.messages.map((m) => [m.key, m.id, m.parts[0]])).toEqual([
        ["m1", "m1", "a"],
        ["m2", "m2", "b"],
        ["l5", "m3", "c"],
        ["m4", "m4", "d"],
      ]);
    });

    it("the turn is still running: keep waiting, with the stored message once", () => {
      const s = chatReducer(dropped(), { type: "reconciled", thread: thread("running"), items: [user("m1", "a"), assistant("m2", "b"), user("m3", "c")] });
      expect(s).toMatchObject({ busy: true, error: null, recovering: { phase: "waiting", attempt: 0 } });
      expect(userBubbles(s)).toEqual(["a", "c"]);
      expect(s.turn?.userItemId).toBe("m3");
      // Next poll: still running, then answered.
      const s2 = chatReducer(s, { type: "reconciled", thread: thread("running"), items: [user("m1", "a"), assistant("m2", "b"), user("m3", "c")] });
      expect(s2.recovering).toMatchObject({ phase: "waiting", attempt: 1 });
      expect(s2.recovering).not.toBe(s.recovering); // a new object: the poll effect runs again
      const s3 = chatReducer(s2, { type: "reconciled", thread: thread("done"), items: [user("m1", "a"), assistant("m2", "b"), user("m3", "c"), assistant("m4", "d")] });
      expect(s3).toMatchObject({ busy: false, error: null, recovering: null });
      expect(s3.messages.map((m) => m.parts[0])).toEqual(["a", "b", "c", "d"]);
    });

    it("waiting is bounded: after MAX_POLLS reloads it stops with a retry of the same key", () => {
      let s = dropped();
      const items = [user("m1", "a"), assistant("m2", "b"), user("m3", "c")];
      let reloads = 0;
      while (s.recovering && reloads < MAX_POLLS + 5) {
        s = chatReducer(s, { type: "reconciled", thread: thread("running"), items });
        reloads++;
      }
      expect(reloads).toBe(MAX_POLLS + 1); // the first check, then MAX_POLLS polls
      expect(s).toMatchObject({ busy: false, recovering: null, error: { message: MESSAGES.stillAnswering } });
      expect(requestOf(s.error!.retry!)?.key).toBe("k-5");
    });

    it("the message is stored but the turn failed: Retry resends with the same key; no second copy", () => {
      let s = chatReducer(dropped(), { type: "reconciled", thread: thread("failed"), items: [user("m1", "a"), assistant("m2", "b"), user("m3", "c")] });
      expect(s).toMatchObject({ busy: false, recovering: null, error: { message: MESSAGES.notAnswered } });
      expect(s.messages.map((m) => [m.key, m.id])).toEqual([["m1", "m1"], ["m2", "m2"], ["l5", "m3"]]);
      const request = requestOf(s.error!.retry!)!;
      expect(request).toMatchObject({ op: "threads.add_user_message", key: "k-5", params: { thread_id: "thr_1" } });
      s = chatReducer(s, { type: "retry", plan: s.error!.retry! });
      // The server continues the turn: the same item again, then the reply.
      s = run([ev({ type: "thread.item.done", item: user("m3", "c") }), ev({ type: "thread.item.done", item: assistant("m4", "d") }), { type: "finished" }], s);
      expect(userBubbles(s)).toEqual(["a", "c"]);
      expect(s.messages.map((m) => m.key)).toEqual(["m1", "m2", "l5", "m4"]);
      expect(s.error).toBeNull();
    });

    it("the message is not stored: the local copy stays (once) and Retry resends it with the same key", () => {
      const s = chatReducer(dropped(), { type: "reconciled", thread: thread("done"), items: [user("m1", "a"), assistant("m2", "b")] });
      expect(s).toMatchObject({ busy: false, error: { message: "Could not reach the server." } });
      expect(s.messages.map((m) => [m.key, m.id])).toEqual([["m1", "m1"], ["m2", "m2"], ["l5", null]]);
      expect(requestOf(s.error!.retry!)?.key).toBe("k-5");
    });

    it("an older message with the same text is not taken for ours", () => {
      const s0 = send(loaded([user("m1", "same"), assistant("m2", "b")]), "same", "l5", "k-5");
      const s = chatReducer(chatReducer(s0, { type: "dropped", message: "x" }), {
        type: "reconciled",
        thread: thread("done"),
        items: [user("m1", "same"), assistant("m2", "b")],
      });
      expect(s.error?.retry).toMatchObject({ kind: "resend" });
      expect(userBubbles(s)).toEqual(["same", "same"]);
      expect(s.messages[2]).toMatchObject({ key: "l5", id: null });
    });

    it("a reload that fails keeps the message and offers the same resend", () => {
      const s = chatReducer(dropped(), { type: "reconcileFailed", message: "offline", retryable: true });
      expect(s).toMatchObject({ busy: false, recovering: null, error: { message: "offline" } });
      expect(requestOf(s.error!.retry!)?.key).toBe("k-5");
      expect(userBubbles(s)).toEqual(["a", "c"]);
    });

    it("a reload of another thread (switched meanwhile) is ignored", () => {
      const d = dropped();
      expect(chatReducer(d, { type: "reconciled", thread: thread("done", "thr_other"), items: [] })).toBe(d);
    });
  });

  it("a thread opened with a failed newest turn offers retry_after_item on its last message", () => {
    const s = loaded([user("m1", "a"), assistant("m2", "b"), user("m3", "c")], "failed");
    expect(s.error).toEqual({ message: MESSAGES.unansweredOnLoad, retry: { kind: "after_item", threadId: "thr_1", itemId: "m3" } });
    expect(requestOf(s.error!.retry!)).toEqual({ op: "threads.retry_after_item", params: { thread_id: "thr_1", item_id: "m3" }, key: null });
  });

  it("a thread opened while its turn runs waits for it, then shows it", () => {
    let s = loaded([user("m1", "a")], "running");
    expect(s).toMatchObject({ busy: true, recovering: { phase: "waiting" }, error: null });
    s = chatReducer(s, { type: "reconciled", thread: thread("done"), items: [user("m1", "a"), assistant("m2", "b")] });
    expect(s).toMatchObject({ busy: false, recovering: null });
    expect(s.messages.map((m) => m.parts[0])).toEqual(["a", "b"]);
  });

  it("retry after an item removes everything after it", () => {
    const from = loaded([user("m1", "a"), assistant("m2", "b"), user("m3", "c"), assistant("m4", "d")]);
    const s = chatReducer(from, { type: "retry", plan: { kind: "after_item", threadId: "thr_1", itemId: "m3" } });
    expect(s.messages.map((m) => m.id)).toEqual(["m1", "m2", "m3"]);
    expect(s.busy).toBe(true);
    expect(s.turn).toMatchObject({ userItemId: "m3", request: { op: "threads.retry_after_item" } });
  });

  it("a refused retry (409) shows the server's detail over the refreshed thread", () => {
    let s = loaded([user("m1", "a"), assistant("m2", "b"), user("m3", "c")], "failed");
    s = chatReducer(s, { type: "retry", plan: s.error!.retry! });
    s = chatReducer(s, { type: "rejected", message: "This conversation has moved on.", retryable: false });
    expect(s).toMatchObject({ busy: false, error: { message: "This conversation has moved on.", retry: null } });
    s = chatReducer(s, {
      type: "refreshed",
      thread: thread("done"),
      items: [user("m1", "a"), assistant("m2", "b"), user("m3", "c"), user("m5", "from another tab"), assistant("m6", "ok")],
    });
    expect(s.error?.message).toBe("This conversation has moved on.");
    expect(s.messages.map((m) => m.parts[0])).toEqual(["a", "b", "c", "from another tab", "ok"]);
  });

  it("a new message drops a copy that was never sent", () => {
    let s = chatReducer(send(initialChatState, "lost", "l1"), { type: "dropped", message: "offline" });
    s = send(s, "again", "l2", "k-2");
    expect(userBubbles(s)).toEqual(["again"]);
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

  it("thread.item.replaced puts the new item in the old one's place, keeping its key", () => {
    let s = send(loaded([user("m1", "a"), assistant("m2", "b")]), "c", "l3");
    s = run([ev({ type: "thread.item.done", item: user("m3", "c") }), ev({ type: "thread.item.replaced", item: assistant("m2", "b, corrected") })], s);
    expect(s.messages.map((m) => [m.key, m.id, m.parts[0]])).toEqual([
      ["m1", "m1", "a"],
      ["m2", "m2", "b, corrected"],
      ["l3", "m3", "c"],
    ]);
    // A reply replaced while it streams goes on streaming until its done.
    s = run([ev({ type: "thread.item.added", item: assistant("m4", null) }), ev(delta("m4", "Hi")), ev({ type: "thread.item.replaced", item: assistant("m4", "Hello") })], s);
    expect(s.messages[3]).toMatchObject({ id: "m4", parts: ["Hello"], streaming: true });
    s = run([ev({ type: "thread.item.done", item: assistant("m4", "Hello!") }), { type: "finished" }], s);
    expect(s.messages[3]).toMatchObject({ parts: ["Hello!"], streaming: false });
    expect(s).toMatchObject({ busy: false, error: null });
  });

  describe("questions (structured_input items)", () => {
    const asked = () => loaded([user("m1", "delete all completed tasks"), assistant("m2", "Delete these 3 tasks? Answer yes or no."), question("confirm_t1")]);

    it("a pending question is a message of its own, after the reply that asked, and the one open", () => {
      const s = asked();
      expect(s.messages.map((m) => m.role)).toEqual(["user", "assistant", "question"]);
      expect(s.messages[2]).toEqual({
        key: "confirm_t1",
        id: "confirm_t1",
        role: "question",
        parts: ["Delete these 3 tasks?"],
        streaming: false,
        question: { inputId: "confirm", text: "Delete these 3 tasks?", options: ["Yes", "No"], status: "pending", answer: null },
      });
      expect(openQuestion(s.messages)?.id).toBe("confirm_t1");
    });

    it("an answered question carries its answer, a skipped one none; neither is open", () => {
      const s = loaded([assistant("m2", "x"), question("q1", "skipped"), user("m3", "no, wait"), assistant("m4", "y"), question("q2", "answered")]);
      expect(s.messages.filter((m) => m.role === "question").map((m) => [m.id, m.question?.status, m.question?.answer])).toEqual([
        ["q1", "skipped", null],
        ["q2", "answered", "Yes"],
      ]);
      expect(openQuestion(s.messages)).toBeNull();
      // Only the newest question can be answered: one still marked pending behind a later message is not open.
      const stale = loaded([question("q1"), user("m3", "later"), assistant("m4", "ok")]);
      expect(openQuestion(stale.messages)).toBeNull();
    });

    it("a question asked in a turn's stream follows its reply and does not hold the turn open", () => {
      let s = send(loaded([]), "delete all completed tasks", "l1");
      s = run([
        ev({ type: "thread.item.done", item: user("m1", "delete all completed tasks") }),
        ev({ type: "thread.item.added", item: assistant("m2", null) }),
        ev(delta("m2", "Delete these 3 tasks?")),
        ev({ type: "thread.item.done", item: assistant("m2", "Delete these 3 tasks? Answer yes or no.") }),
        ev({ type: "thread.item.added", item: question("confirm_t1") }),
        ev({ type: "thread.item.done", item: question("confirm_t1") }),
        { type: "finished" },
      ], s);
      expect(s).toMatchObject({ busy: false, error: null, turn: null, recovering: null });
      expect(s.messages.map((m) => [m.role, m.id, m.streaming])).toEqual([
        ["user", "m1", false],
        ["assistant", "m2", false],
        ["question", "confirm_t1", false],
      ]);
      expect(openQuestion(s.messages)?.id).toBe("confirm_t1");
    });

    it("answering is threads.add_structured_input with the item's id; the stream replaces the question in place", () => {
      const from = asked();
      const q = from.messages[2];
      const request = answerRequest("thr_1", q.id!, q.question!, "Yes", "k-yes");
      expect(request).toEqual({
        op: "threads.add_structured_input",
        params: {
          thread_id: "thr_1",
          item_id: "confirm_t1",
          input: { status: "answered", answers: { confirm: { values: ["Yes"], skipped: false } } },
        },
        key: "k-yes",
      });
      let s = chatReducer(from, { type: "send", text: "Yes", localKey: "l2", request });
      // In flight: the answer shows as the user's message; the question stays open (its buttons wait on busy).
      expect(s.busy).toBe(true);
      expect(s.messages.map((m) => [m.key, m.role])).toEqual([["m1", "user"], ["m2", "assistant"], ["confirm_t1", "question"], ["l2", "user"]]);
      expect(s.messages[2].question?.status).toBe("pending");
      s = chatReducer(s, ev({ type: "thread.item.replaced", item: question("confirm_t1", "answered") }));
      expect(s.messages[2]).toMatchObject({ key: "confirm_t1", question: { status: "answered", answer: "Yes" } });
      expect(openQuestion(s.messages)).toBeNull();
      s = run([
        ev({ type: "thread.item.done", item: user("m5", "Yes") }),
        ev({ type: "thread.item.added", item: assistant("m6", null) }),
        ev(delta("m6", "Deleted 3 tasks.")),
        ev({ type: "thread.item.done", item: assistant("m6", "Deleted 3 tasks.") }),
        { type: "finished" },
      ], s);
      expect(s).toMatchObject({ busy: false, error: null, turn: null });
      expect(s.messages.map((m) => [m.key, m.id, m.role])).toEqual([
        ["m1", "m1", "user"],
        ["m2", "m2", "assistant"],
        ["confirm_t1", "confirm_t1", "question"],
        ["l2", "m5", "user"],
        ["m6", "m6", "assistant"],
      ]);
    });

    it("another message expires the open question here too", () => {
      const s = send(asked(), "what's pending?", "l2", "k-2");
      expect(s.messages[2].question).toMatchObject({ status: "skipped", answer: null });
      expect(openQuestion(s.messages)).toBeNull();
      expect(s.turn?.request.op).toBe("threads.add_user_message");
    });

    it("an answer refused with 409 shows the server's detail, then the question as the server has it", () => {
      const from = asked();
      const q = from.messages[2];
      let s = chatReducer(from, { type: "send", text: "No", localKey: "l2", request: answerRequest("thr_1", q.id!, q.question!, "No", "k-no") });
      s = chatReducer(s, { type: "rejected", message: "this question is closed: another message came after it", retryable: false });
      expect(s).toMatchObject({ busy: false, error: { message: "this question is closed: another message came after it", retry: null } });
      s = chatReducer(s, {
        type: "refreshed",
        thread: thread("done"),
        items: [user("m1", "delete all completed tasks"), assistant("m2", "…"), question("confirm_t1", "skipped"), user("m3", "from another tab"), assistant("m4", "ok")],
      });
      expect(s.error?.message).toBe("this question is closed: another message came after it");
      expect(s.messages.map((m) => m.parts[0])).toEqual(["delete all completed tasks", "…", "Delete these 3 tasks?", "from another tab", "ok"]);
      expect(s.messages[2].question?.status).toBe("skipped");
      expect(openQuestion(s.messages)).toBeNull();
    });

    it("a dropped answer is settled like a dropped turn; unsent, Retry resends the same request with the same key", () => {
      const from = asked();
      const q = from.messages[2];
      const request = answerRequest("thr_1", q.id!, q.question!, "Yes", "k-yes");
      const dropped = chatReducer(chatReducer(from, { type: "send", text: "Yes", localKey: "l2", request }), { type: "dropped", message: "Could not reach the server." });
      expect(dropped.recovering).toMatchObject({ phase: "checking" });
      // Stored and answered meanwhile: shown, no error.
      const stored = chatReducer(dropped, {
        type: "reconciled",
        thread: thread("done"),
        items: [user("m1", "delete all completed tasks"), assistant("m2", "…"), question("confirm_t1", "answered"), user("m5", "Yes"), assistant("m6", "Deleted.")],
      });
      expect(stored).toMatchObject({ busy: false, error: null, recovering: null });
      expect(stored.messages.map((m) => m.key)).toEqual(["m1", "m2", "confirm_t1", "l2", "m6"]);
      // Never received: the question is still open; Retry resends the answer exactly.
      const lost = chatReducer(dropped, { type: "reconciled", thread: thread("done"), items: [user("m1", "a"), assistant("m2", "b"), question("confirm_t1")] });
      expect(lost).toMatchObject({ busy: false, error: { message: "Could not reach the server." } });
      expect(requestOf(lost.error!.retry!)).toEqual(request);
      expect(userBubbles(lost)).toEqual(["a", "Yes"]);
      const again = chatReducer(lost, { type: "retry", plan: lost.error!.retry! });
      expect(again.turn?.request).toEqual(request);
      expect(userBubbles(again)).toEqual(["a", "Yes"]);
    });
  });
});
