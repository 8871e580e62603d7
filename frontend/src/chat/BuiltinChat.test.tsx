import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ChatKitClient } from "../api/chatkit";
import { bearerFetch } from "../api/http";
import { FakeBackend, fakeToken } from "../test/fakeBackend";
import { BuiltinChat } from "./BuiltinChat";

let backend: FakeBackend;

function setup(user = "alice", pollMs = 20) {
  const client = new ChatKitClient(bearerFetch(() => fakeToken(user), undefined), "/chatkit");
  const onTasksChanged = vi.fn();
  const utils = render(<BuiltinChat client={client} user={user} onTasksChanged={onTasksChanged} pollMs={pollMs} />);
  return { ...utils, onTasksChanged, ue: userEvent.setup() };
}

const composer = () => screen.getByRole("textbox", { name: "Message" });
const log = () => screen.getByRole("log", { name: "Messages" });
const ops = () => backend.calls.filter((c) => c.url === "/chatkit").map((c) => (c.body as { type: string }).type);
const lastBody = (type: string) =>
  [...backend.calls].reverse().find((c) => (c.body as { type?: string })?.type === type)!.body as { params: Record<string, unknown> };
/** The requests of one ChatKit operation, in order. */
const callsOf = (type: string) => backend.calls.filter((c) => (c.body as { type?: string })?.type === type);
const keysOf = (type: string) => callsOf(type).map((c) => c.headers.get("Idempotency-Key"));
/** What the user bubbles on screen say. */
const userBubbles = () => Array.from(log().querySelectorAll('[data-role="user"]'), (e) => e.querySelector(".bubble")!.textContent);
/** The position in the call log of the first `type` request after position `from`. */
const indexAfter = (type: string, from: number) =>
  backend.calls.findIndex((c, i) => i > from && (c.body as { type?: string })?.type === type);
const input = (text: string) => ({ content: [{ type: "input_text", text }], attachments: [], inference_options: {} });
/** A promise and its resolver, to hold a turn in the fake while it runs. */
function hold() {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

beforeEach(() => {
  backend = new FakeBackend();
  vi.stubGlobal("fetch", backend.fetch);
});

describe("BuiltinChat", () => {
  it("starts a thread, streams the reply as it arrives, and refreshes tasks", async () => {
    const { ue, onTasksChanged } = setup();
    expect(await screen.findByText("No conversations yet.")).toBeInTheDocument();
    let open!: () => void;
    backend.gate = new Promise((r) => (open = r));

    await ue.type(composer(), "Add a task to buy groceries{Enter}");
    expect(composer()).toHaveValue("");
    // The user's message shows at once; the reply streams in before it is done.
    expect(within(log()).getByText("Add a task to buy groceries")).toBeInTheDocument();
    await waitFor(() => expect(log().querySelector('[data-role="assistant"][data-streaming]')).not.toBeNull());
    expect(log()).toHaveAttribute("aria-busy", "true");
    expect(onTasksChanged).toHaveBeenCalled(); // the tasks_changed effect came before the text
    const partial = log().querySelector('[data-role="assistant"]')!.textContent!;
    expect(partial.length).toBeGreaterThan(0);
    expect(partial).not.toContain("groceries**");

    await act(async () => open());
    await waitFor(() => expect(log()).toHaveAttribute("aria-busy", "false"));
    const reply = log().querySelector('[data-role="assistant"]')!;
    expect(reply.textContent).toContain("Added task #1: Buy groceries.");
    expect(reply.querySelector("strong")?.textContent).toBe("Buy groceries");
    expect(backend.tasks.map((t) => t.title)).toEqual(["Buy groceries"]);
    expect(ops()).toContain("threads.create");
    expect(lastBody("threads.create").params).toEqual({
      input: { content: [{ type: "input_text", text: "Add a task to buy groceries" }], attachments: [], inference_options: {} },
    });
    // The thread gets its title in the list and is remembered for a reload.
    const threadId = backend.threads[0].id;
    expect(localStorage.getItem("smart-todo.last-thread.alice")).toBe(threadId);
    expect(await screen.findByRole("button", { name: /Add a task to buy groceries/, current: true })).toBeInTheDocument();
    expect(onTasksChanged.mock.calls.length).toBeGreaterThanOrEqual(2); // effect + end of turn

    // A follow-up goes to the same thread.
    await ue.type(composer(), "hello{Enter}");
    await waitFor(() => expect(within(log()).getByText("You said: hello")).toBeInTheDocument());
    expect(lastBody("threads.add_user_message").params).toMatchObject({ thread_id: threadId });
    expect(log().querySelectorAll('[data-role="user"]')).toHaveLength(2);
    // Every turn carries its own Idempotency-Key.
    const [createKey] = keysOf("threads.create");
    const [addKey] = keysOf("threads.add_user_message");
    expect(createKey).toMatch(/^[\x21-\x7e]{1,128}$/);
    expect(addKey).toMatch(/^[\x21-\x7e]{1,128}$/);
    expect(addKey).not.toBe(createKey);
  });

  it("Shift+Enter adds a line instead of sending", async () => {
    const { ue } = setup();
    await ue.type(composer(), "one{Shift>}{Enter}{/Shift}two");
    expect(composer()).toHaveValue("one\ntwo");
    expect(ops()).not.toContain("threads.create");
  });

  it("resumes the remembered thread after a reload, paging past the first 20 items", async () => {
    const pairs: [string, string][] = Array.from({ length: 12 }, (_, i) => [`question ${i + 1}`, `answer ${i + 1}`]);
    const id = backend.addThread("alice", "Long chat", pairs);
    localStorage.setItem("smart-todo.last-thread.alice", id);
    setup();
    expect(await within(log()).findByText("answer 12")).toBeInTheDocument();
    expect(within(log()).getByText("question 1")).toBeInTheDocument();
    expect(log().querySelectorAll("article")).toHaveLength(24);
    expect(ops()).toEqual(expect.arrayContaining(["threads.get_by_id", "items.list", "threads.list"]));
    expect(screen.getByRole("heading", { name: "Long chat" })).toBeInTheDocument();
  });

  it("on a new device the user's newest conversation opens (the last thread follows the user)", async () => {
    backend.addThread("alice", "Older", [["old question", "old answer"]]);
    backend.addThread("alice", "Newest", [["new question", "new answer"]]);
    backend.addThread("bob", "Bob's", [["bob question", "bob answer"]]);
    setup(); // nothing in localStorage: another browser
    expect(await within(log()).findByText("new answer")).toBeInTheDocument();
    expect(screen.queryByText("old answer")).toBeNull();
    expect(screen.queryByText("bob answer")).toBeNull();
  });

  it("forgets a remembered thread that no longer exists (or is another user's)", async () => {
    const bobs = backend.addThread("bob", "Bob's", [["hi", "hello"]]);
    localStorage.setItem("smart-todo.last-thread.alice", bobs);
    setup();
    expect(await screen.findByText("What needs doing?")).toBeInTheDocument();
    expect(localStorage.getItem("smart-todo.last-thread.alice")).toBeNull();
    expect(screen.queryByText("hello")).toBeNull();
  });

  it("an error event shows Retry, which resends the turn with the same key: the server continues it", async () => {
    const { ue } = setup();
    backend.failNext = "error-event"; // the model fails after the add_task tool ran
    await ue.type(composer(), "Add a task to buy milk{Enter}");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The assistant is unavailable.");
    expect(within(log()).queryByText("Partial")).toBeNull();
    await ue.click(within(alert).getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(log()).toHaveTextContent("Added task #1: Buy milk."));
    const keys = keysOf("threads.create");
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    expect(ops()).not.toContain("threads.retry_after_item");
    expect(backend.tasks.map((t) => t.title)).toEqual(["Buy milk"]); // the tool did not run twice
    expect(screen.queryByRole("alert")).toBeNull();
    expect(userBubbles()).toEqual(["Add a task to buy milk"]);
    expect(backend.threads[0].items.filter((i) => i.type === "user_message")).toHaveLength(1);
  });

  it("a network failure before the thread exists shows Retry, which sends the message again with the same key", async () => {
    const { ue } = setup();
    backend.failNext = "network";
    await ue.type(composer(), "hello{Enter}");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not reach the server");
    expect(userBubbles()).toEqual(["hello"]);
    expect(ops()).not.toContain("threads.get_by_id"); // no thread id to look at
    await ue.click(within(alert).getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(within(log()).getByText("You said: hello")).toBeInTheDocument());
    const keys = keysOf("threads.create");
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBeTruthy();
    expect(keys[1]).toBe(keys[0]);
    expect(userBubbles()).toEqual(["hello"]);
  });

  it.each(["error", "close"] as const)(
    "a stream lost after the message (%s) is settled by reloading the thread: the stored reply shows, no error",
    async (how) => {
      const { ue } = setup();
      backend.dropNext = { afterEvents: 2, how }; // thread.created and the user message arrive; the rest is lost
      await ue.type(composer(), "hello{Enter}");
      await waitFor(() => expect(within(log()).getByText("You said: hello")).toBeInTheDocument());
      await waitFor(() => expect(log()).toHaveAttribute("aria-busy", "false"));
      expect(indexAfter("threads.get_by_id", indexAfter("threads.create", -1))).toBeGreaterThan(-1);
      expect(callsOf("threads.create")).toHaveLength(1); // nothing was sent again
      expect(screen.queryByRole("alert")).toBeNull();
      expect(userBubbles()).toEqual(["hello"]);
      expect(composer()).toBeEnabled();
    },
  );

  it("a lost stream whose turn still runs shows “still answering” and polls until the reply is stored", async () => {
    const { ue } = setup();
    const turn = hold();
    backend.gate = turn.promise;
    backend.dropNext = { afterEvents: 2 };
    await ue.type(composer(), "hello{Enter}");
    expect(await within(log()).findByText("Still answering…")).toBeInTheDocument();
    await waitFor(() => expect(callsOf("threads.get_by_id").length).toBeGreaterThanOrEqual(3)); // it keeps looking
    expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
    expect(screen.queryByRole("alert")).toBeNull();
    expect(userBubbles()).toEqual(["hello"]);
    const polls = callsOf("threads.get_by_id").length;
    await act(async () => turn.open());
    await waitFor(() => expect(within(log()).getByText("You said: hello")).toBeInTheDocument());
    await waitFor(() => expect(log()).toHaveAttribute("aria-busy", "false"));
    expect(callsOf("threads.get_by_id").length).toBeGreaterThan(polls);
    expect(within(log()).queryByText("Still answering…")).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
    expect(callsOf("threads.create")).toHaveLength(1);
    expect(userBubbles()).toEqual(["hello"]);
    // Polling stopped once it was answered.
    const settled = callsOf("threads.get_by_id").length;
    await new Promise((r) => setTimeout(r, 100));
    expect(callsOf("threads.get_by_id")).toHaveLength(settled);
  });

  it("a lost stream whose turn failed offers Retry, which resends with the same key; the message shows once", async () => {
    const { ue } = setup();
    backend.failNext = "error-event";
    backend.dropNext = { afterEvents: 2 };
    await ue.type(composer(), "hello{Enter}");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Your message is saved");
    expect(ops()).toContain("threads.get_by_id");
    expect(userBubbles()).toEqual(["hello"]);
    await ue.click(within(alert).getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(within(log()).getByText("You said: hello")).toBeInTheDocument());
    const keys = keysOf("threads.create");
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    expect(userBubbles()).toEqual(["hello"]);
    expect(backend.threads[0].items.map((i) => i.type)).toEqual(["user_message", "assistant_message"]);
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("a message that never reached the server (thread known) is looked for, then Retry resends it with the same key", async () => {
    const id = backend.addThread("alice", "Chat", [["first", "answer one"]]);
    localStorage.setItem("smart-todo.last-thread.alice", id);
    const { ue } = setup();
    expect(await within(log()).findByText("answer one")).toBeInTheDocument();
    backend.failNext = "network";
    await ue.type(composer(), "hello{Enter}");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not reach the server");
    expect(indexAfter("threads.get_by_id", indexAfter("threads.add_user_message", -1))).toBeGreaterThan(-1);
    expect(userBubbles()).toEqual(["first", "hello"]);
    await ue.click(within(alert).getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(within(log()).getByText("You said: hello")).toBeInTheDocument());
    const keys = keysOf("threads.add_user_message");
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    expect(userBubbles()).toEqual(["first", "hello"]);
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("a busy conversation: the error event's message shows, and Retry resends with the same key", async () => {
    const id = backend.addThread("alice", "Chat", [["first", "answer one"]]);
    localStorage.setItem("smart-todo.last-thread.alice", id);
    const { ue } = setup();
    expect(await within(log()).findByText("answer one")).toBeInTheDocument();
    // Another tab is in the middle of a turn on this conversation.
    const other = hold();
    backend.gate = other.promise;
    const otherTab = backend.send("alice", "threads.add_user_message", { thread_id: id, input: input("from the other tab") }, "other-key");
    backend.gate = null;
    await ue.type(composer(), "hello{Enter}");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Another reply is still being written");
    expect(userBubbles()).toEqual(["first", "hello"]);
    other.open();
    await otherTab;
    await ue.click(within(alert).getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(within(log()).getByText("You said: hello")).toBeInTheDocument());
    const keys = keysOf("threads.add_user_message").filter((k) => k !== "other-key");
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    expect(userBubbles().filter((t) => t === "hello")).toHaveLength(1);
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("a thread opened with an unanswered last message offers Retry, which regenerates after it", async () => {
    const id = backend.addThread("alice", "Chat", [["first", "answer one"]], { unanswered: "second" });
    localStorage.setItem("smart-todo.last-thread.alice", id);
    const { ue } = setup();
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The assistant did not answer your last message.");
    await ue.click(within(alert).getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(within(log()).getByText("You said: second")).toBeInTheDocument());
    const second = backend.threads[0].items[2];
    expect(lastBody("threads.retry_after_item").params).toEqual({ thread_id: id, item_id: second.id });
    expect(userBubbles()).toEqual(["first", "second"]);
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("a retry refused with 409 shows the server's detail and the refreshed thread", async () => {
    const id = backend.addThread("alice", "Chat", [["first", "answer one"]], { unanswered: "second" });
    localStorage.setItem("smart-todo.last-thread.alice", id);
    const { ue } = setup();
    const alert = await screen.findByRole("alert");
    // Meanwhile another tab moved the conversation on.
    const otherTab = await backend.send("alice", "threads.add_user_message", { thread_id: id, input: input("from the other tab") }, "k-other");
    expect(otherTab.status).toBe(200);
    await ue.click(within(alert).getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("Only the newest message of a conversation can be answered again"));
    expect(await within(log()).findByText("You said: from the other tab")).toBeInTheDocument();
    expect(userBubbles()).toEqual(["first", "second", "from the other tab"]);
    expect(lastBody("threads.retry_after_item").params).toMatchObject({ item_id: backend.threads[0].items[2].id });
    expect(composer()).toBeEnabled();
  });

  it("a thread opened while its reply is being written waits for it", async () => {
    const id = backend.addThread("alice", "Chat", [["first", "answer one"]]);
    localStorage.setItem("smart-todo.last-thread.alice", id);
    const other = hold();
    backend.gate = other.promise;
    const otherTab = backend.send("alice", "threads.add_user_message", { thread_id: id, input: input("from the other tab") }, "k-other");
    backend.gate = null;
    setup();
    expect(await within(log()).findByText("Still answering…")).toBeInTheDocument();
    expect(userBubbles()).toEqual(["first", "from the other tab"]);
    other.open();
    await otherTab;
    expect(await within(log()).findByText("You said: from the other tab")).toBeInTheDocument();
    expect(within(log()).queryByText("Still answering…")).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("lists threads, switches between them, renames and deletes", async () => {
    const a = backend.addThread("alice", "Groceries", [["Add milk", "Added milk"]]);
    backend.addThread("alice", "Work", [["Add report", "Added report"]]);
    backend.addThread("bob", "Secret", [["x", "y"]]);
    const { ue } = setup();
    const nav = screen.getByRole("navigation", { name: "Conversations" });
    expect(await within(nav).findByRole("button", { name: /^Work/ })).toBeInTheDocument();
    expect(within(nav).queryByText("Secret")).toBeNull();

    await ue.click(within(nav).getByRole("button", { name: /^Groceries/ }));
    expect(await within(log()).findByText("Added milk")).toBeInTheDocument();
    expect(localStorage.getItem("smart-todo.last-thread.alice")).toBe(a);

    await ue.click(within(nav).getByRole("button", { name: "Rename “Groceries”" }));
    const input = within(nav).getByRole("textbox", { name: "Conversation title" });
    expect(input).toHaveFocus();
    await ue.clear(input);
    await ue.type(input, "Shopping{Enter}");
    expect(await within(nav).findByRole("button", { name: /^Shopping/ })).toBeInTheDocument();
    expect(lastBody("threads.update").params).toEqual({ thread_id: a, title: "Shopping" });

    await ue.click(within(nav).getByRole("button", { name: "Delete “Shopping”" }));
    await ue.click(within(nav).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(within(nav).queryByText("Shopping")).toBeNull());
    expect(lastBody("threads.delete").params).toEqual({ thread_id: a });
    // The open thread was deleted: back to a new conversation.
    expect(screen.getByText("What needs doing?")).toBeInTheDocument();
    expect(localStorage.getItem("smart-todo.last-thread.alice")).toBeNull();
  });

  it("a suggestion chip sends its prompt", async () => {
    const { ue } = setup();
    await ue.click(await screen.findByRole("button", { name: "What's pending?" }));
    await waitFor(() => expect(within(log()).getByText("You said: What's pending?")).toBeInTheDocument());
  });

  describe("a question before a change to several tasks", () => {
    /** alice's two completed tasks (and one pending), and her conversation asking about them. */
    async function asked() {
      backend.addTask("alice", "Alpha report", null, true);
      backend.addTask("alice", "Beta report", null, true);
      backend.addTask("alice", "Gamma report");
      const utils = setup();
      await utils.ue.type(composer(), "delete all completed tasks{Enter}");
      const group = await within(log()).findByRole("group", { name: "Delete these 2 tasks?" });
      await waitFor(() => expect(log()).toHaveAttribute("aria-busy", "false"));
      const item = backend.threads[0].items.find((i) => i.type === "structured_input")!;
      return { ...utils, group, item };
    }
    /** Holds every `threads.add_structured_input` request before the server sees it, until `open`. */
    function holdAnswers() {
      const held = hold();
      vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
        const body = typeof init?.body === "string" ? (JSON.parse(init.body) as { type?: string }) : undefined;
        if (body?.type === "threads.add_structured_input") await held.promise;
        return backend.fetch(input, init);
      });
      return held;
    }

    it("shows Yes and No; Yes sends the answer for that item, the choices wait while it runs, then it shows answered", async () => {
      const { ue, group, item, onTasksChanged } = await asked();
      const yes = within(group).getByRole("button", { name: "Yes" });
      const no = within(group).getByRole("button", { name: "No" });
      expect(yes).toBeEnabled();
      expect(no).toBeEnabled();
      expect(item.status).toBe("pending");
      const held = holdAnswers();
      onTasksChanged.mockClear();

      await ue.click(yes);
      // In flight: both choices and Send wait; the answer shows as the user's message; focus is back in the composer.
      expect(yes).toBeDisabled();
      expect(no).toBeDisabled();
      await ue.type(composer(), "x");
      expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
      await ue.clear(composer());
      expect(composer()).toHaveFocus();
      expect(userBubbles()).toEqual(["delete all completed tasks", "Yes"]);
      expect(callsOf("threads.add_structured_input")).toHaveLength(0);

      await act(async () => held.open());
      await waitFor(() => expect(log()).toHaveAttribute("aria-busy", "false"));
      const [call] = callsOf("threads.add_structured_input");
      expect(call.body).toEqual({
        type: "threads.add_structured_input",
        params: {
          thread_id: backend.threads[0].id,
          item_id: item.id,
          input: { status: "answered", answers: { confirm: { values: ["Yes"], skipped: false } } },
        },
      });
      expect(item.id).toMatch(/^confirm_/);
      expect(call.headers.get("Idempotency-Key")).toMatch(/^[\x21-\x7e]{1,128}$/);
      expect(call.headers.get("Accept")).toBe("text/event-stream");
      expect(call.headers.get("Content-Type")).toBe("application/json");
      expect(call.headers.get("Authorization")).toMatch(/^Bearer /);
      // Answered: the question says so, muted, and no choice is left.
      expect(within(log()).queryByRole("group")).toBeNull();
      expect(within(log()).queryByRole("button", { name: "Yes" })).toBeNull();
      expect(within(log()).queryByRole("button", { name: "No" })).toBeNull();
      expect(log().querySelector('[data-role="question"]')).toHaveTextContent("Delete these 2 tasks? — Yes");
      expect(log().querySelector('[data-role="question"]')).toHaveAttribute("data-status", "answered");
      expect(log()).toHaveTextContent("Deleted 2 tasks: #1 “Alpha report”, #2 “Beta report”.");
      expect(userBubbles()).toEqual(["delete all completed tasks", "Yes"]);
      // The tasks went, and the task panel was told (the effect, and the end of the turn).
      expect(backend.tasks.map((t) => t.title)).toEqual(["Gamma report"]);
      expect(onTasksChanged.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(screen.queryByRole("alert")).toBeNull();
      expect(composer()).toHaveFocus();
    });

    it("No changes nothing and shows the question answered no", async () => {
      const { ue, group } = await asked();
      await ue.click(within(group).getByRole("button", { name: "No" }));
      await waitFor(() => expect(log()).toHaveTextContent("Cancelled: nothing was changed."));
      expect(log().querySelector('[data-role="question"]')).toHaveTextContent("Delete these 2 tasks? — No");
      expect(lastBody("threads.add_structured_input").params.input).toEqual({ status: "answered", answers: { confirm: { values: ["No"], skipped: false } } });
      expect(backend.tasks).toHaveLength(3);
      expect(within(log()).queryByRole("button", { name: "Yes" })).toBeNull();
    });

    it("an answered and an expired question open without choices", async () => {
      backend.addTask("alice", "Alpha report", null, true);
      backend.addTask("alice", "Beta report", null, true);
      backend.addTask("alice", "Gamma report");
      const first = await backend.send("alice", "threads.create", { input: input("delete all completed tasks") }, "k-1");
      const threadId = (first.events![0] as { thread: { id: string } }).thread.id;
      const firstQuestion = backend.threads[0].items.find((i) => i.type === "structured_input")!.id;
      const answers = { status: "answered", answers: { confirm: { values: ["No"], skipped: false } } };
      expect((await backend.send("alice", "threads.add_structured_input", { thread_id: threadId, item_id: firstQuestion, input: answers }, "k-2")).status).toBe(200);
      await backend.send("alice", "threads.add_user_message", { thread_id: threadId, input: input("delete all completed tasks") }, "k-3");
      await backend.send("alice", "threads.add_user_message", { thread_id: threadId, input: input("what's pending?") }, "k-4");
      setup();
      await within(log()).findByText("You said: what's pending?");
      const questions = Array.from(log().querySelectorAll('[data-role="question"]'));
      expect(questions.map((q) => [q.getAttribute("data-status"), q.textContent])).toEqual([
        ["answered", "Delete these 2 tasks? — No"],
        ["skipped", "Delete these 2 tasks? — not answered"],
      ]);
      expect(within(log()).queryByRole("group")).toBeNull();
      expect(within(log()).queryAllByRole("button")).toHaveLength(0);
    });

    it("a message typed instead expires the question at once, as the server does", async () => {
      const { ue, item } = await asked();
      await ue.type(composer(), "what's pending?{Enter}");
      expect(within(log()).queryByRole("group")).toBeNull();
      expect(log().querySelector('[data-role="question"]')).toHaveTextContent("Delete these 2 tasks? — not answered");
      await waitFor(() => expect(log()).toHaveAttribute("aria-busy", "false"));
      expect(item.status).toBe("skipped");
      expect(callsOf("threads.add_structured_input")).toHaveLength(0);
    });

    it("an answer refused with 409 shows the server's detail and the question as the server has it", async () => {
      const { ue, group, item } = await asked();
      // Meanwhile another tab answered it.
      const answers = { status: "answered", answers: { confirm: { values: ["Yes"], skipped: false } } };
      const otherTab = await backend.send("alice", "threads.add_structured_input", { thread_id: item.thread_id, item_id: item.id, input: answers }, "k-other");
      expect(otherTab.status).toBe(200);
      await ue.click(within(group).getByRole("button", { name: "No" }));
      const alert = await screen.findByRole("alert");
      expect(alert).toHaveTextContent("this question is closed");
      expect(within(alert).queryByRole("button", { name: "Retry" })).toBeNull();
      await waitFor(() => expect(log().querySelector('[data-role="question"]')).toHaveTextContent("Delete these 2 tasks? — Yes"));
      expect(within(log()).queryByRole("button", { name: "No" })).toBeNull();
      expect(userBubbles()).toEqual(["delete all completed tasks", "Yes"]); // the other tab's answer, not a stray "No"
      expect(composer()).toBeEnabled();
    });

    it("an answer lost to the network offers Retry, which resends the same request with the same key", async () => {
      const { ue, group, item } = await asked();
      backend.failNext = "network";
      await ue.click(within(group).getByRole("button", { name: "Yes" }));
      const alert = await screen.findByRole("alert");
      expect(alert).toHaveTextContent("Could not reach the server");
      expect(item.status).toBe("pending");
      await ue.click(within(alert).getByRole("button", { name: "Retry" }));
      await waitFor(() => expect(log()).toHaveTextContent("Deleted 2 tasks"));
      const calls = callsOf("threads.add_structured_input");
      expect(calls).toHaveLength(2);
      expect(calls[1].body).toEqual(calls[0].body);
      expect(calls[1].headers.get("Idempotency-Key")).toBe(calls[0].headers.get("Idempotency-Key"));
      expect(userBubbles()).toEqual(["delete all completed tasks", "Yes"]);
      expect(log().querySelector('[data-role="question"]')).toHaveTextContent("— Yes");
      expect(screen.queryByRole("alert")).toBeNull();
    });
  });
});
