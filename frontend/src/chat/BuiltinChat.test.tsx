import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { ChatKitClient } from "../api/chatkit";
import { bearerFetch } from "../api/http";
import { FakeBackend, fakeToken } from "../test/fakeBackend";
import { BuiltinChat } from "./BuiltinChat";

let backend: FakeBackend;

function setup(user = "alice") {
  const client = new ChatKitClient(bearerFetch(() => fakeToken(user), undefined), "/chatkit");
  const onTasksChanged = vi.fn();
  const utils = render(<BuiltinChat client={client} user={user} onTasksChanged={onTasksChanged} />);
  return { ...utils, onTasksChanged, ue: userEvent.setup() };
}

const composer = () => screen.getByRole("textbox", { name: "Message" });
const log = () => screen.getByRole("log", { name: "Messages" });
const ops = () => backend.calls.filter((c) => c.url === "/chatkit").map((c) => (c.body as { type: string }).type);
const lastBody = (type: string) =>
  [...backend.calls].reverse().find((c) => (c.body as { type?: string })?.type === type)!.body as { params: Record<string, unknown> };

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

  it("forgets a remembered thread that no longer exists (or is another user's)", async () => {
    const bobs = backend.addThread("bob", "Bob's", [["hi", "hello"]]);
    localStorage.setItem("smart-todo.last-thread.alice", bobs);
    setup();
    expect(await screen.findByText("What needs doing?")).toBeInTheDocument();
    expect(localStorage.getItem("smart-todo.last-thread.alice")).toBeNull();
    expect(screen.queryByText("hello")).toBeNull();
  });

  it("an error event shows Retry, which regenerates after the user message", async () => {
    const { ue } = setup();
    backend.failNext = "error-event";
    await ue.type(composer(), "hello{Enter}");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The assistant is unavailable.");
    expect(within(log()).queryByText("Partial")).toBeNull();
    await ue.click(within(alert).getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(within(log()).getByText("You said: hello")).toBeInTheDocument());
    const userItem = backend.threads[0].items[0];
    expect(lastBody("threads.retry_after_item").params).toEqual({ thread_id: backend.threads[0].id, item_id: userItem.id });
    expect(screen.queryByRole("alert")).toBeNull();
    expect(log().querySelectorAll('[data-role="user"]')).toHaveLength(1);
  });

  it("a network failure shows Retry, which sends the message again", async () => {
    const { ue } = setup();
    backend.failNext = "network";
    await ue.type(composer(), "hello{Enter}");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not reach the server");
    await ue.click(within(alert).getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(within(log()).getByText("You said: hello")).toBeInTheDocument());
    expect(ops().filter((o) => o === "threads.create")).toHaveLength(2);
    expect(log().querySelectorAll('[data-role="user"]')).toHaveLength(1);
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
});
