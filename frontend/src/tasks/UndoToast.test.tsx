/** The task panel's toast with Undo, against the fake backend (which keeps history, trash and undo as the server). */
import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { bearerFetch } from "../api/http";
import { TasksApi } from "../api/tasks";
import { FakeBackend, fakeToken } from "../test/fakeBackend";
import { TOAST_MS } from "../ui/Toast";
import { TaskPanel, undoneText } from "./TaskPanel";

let backend: FakeBackend;

function setup(opts: { advanceTimers?: (ms: number) => void } = {}) {
  const api = new TasksApi(bearerFetch(() => fakeToken("alice")));
  const utils = render(<TaskPanel api={api} refreshKey={0} />);
  return { ...utils, ue: userEvent.setup(opts), rerenderWith: (k: number) => utils.rerender(<TaskPanel api={api} refreshKey={k} />) };
}

const toast = () => screen.getByRole("status");
const message = () => toast().querySelector(".toast-msg")?.textContent ?? null;
const undoButton = () => within(toast()).queryByRole("button", { name: "Undo" });
const undos = () => backend.calls.filter((c) => c.url === "/api/undo");

async function says(text: string) {
  await waitFor(() => expect(message()).toBe(text));
}

beforeEach(() => {
  backend = new FakeBackend();
  vi.stubGlobal("fetch", backend.fetch);
});

afterEach(() => {
  vi.useRealTimers();
});

describe("the undo toast", () => {
  it("Delete, Undo (the task is back), Undo again (redone), and again", async () => {
    backend.addTask("alice", "Buy milk", null, false, { priority: "high", tags: ["errands"] });
    backend.addTask("alice", "Walk the dog");
    const { ue } = setup();
    await ue.click(await screen.findByRole("button", { name: "Delete “Buy milk”" }));
    await says("Deleted “Buy milk”.");
    expect(screen.queryByRole("checkbox", { name: "Buy milk" })).toBeNull();

    await ue.click(undoButton()!);
    expect(await screen.findByRole("checkbox", { name: "Buy milk" })).toBeInTheDocument();
    await says("Undone: Deleted “Buy milk”.");
    expect(undos().map((c) => [c.method, c.body, c.headers.get("X-Smart-Todo-Client")])).toEqual([["POST", {}, "web"]]);
    expect(backend.tasks.find((t) => t.title === "Buy milk")).toMatchObject({ id: 1, priority: "high", tags: ["errands"] });

    // The toast of an undo has Undo too: it redoes.
    await ue.click(undoButton()!);
    await waitFor(() => expect(screen.queryByRole("checkbox", { name: "Buy milk" })).toBeNull());
    await says("Redone: Deleted “Buy milk”.");
    await ue.click(undoButton()!);
    expect(await screen.findByRole("checkbox", { name: "Buy milk" })).toBeInTheDocument();
    await says("Undone: Deleted “Buy milk”.");
    expect(undos()).toHaveLength(3);
    // Focus stayed on Undo all along (keyboard users can go on pressing it).
    expect(undoButton()).toHaveFocus();
  });

  it("offers Undo after every kind of change the panel makes, and refreshes the list and the counts", async () => {
    backend.addList("alice", "Work");
    backend.addTask("alice", "Write report");
    const { ue } = setup();
    const box = await screen.findByRole("checkbox", { name: "Write report" });

    await ue.click(box);
    await says("Completed “Write report”.");
    await ue.click(undoButton()!);
    await says("Undone: Completed “Write report”.");
    await waitFor(() => expect(screen.getByRole("checkbox", { name: "Write report" })).not.toBeChecked());
    expect(backend.tasks[0]).toMatchObject({ completed: false, completed_at: null });

    await ue.click(screen.getByRole("button", { name: "Edit “Write report”" }));
    const d = screen.getByRole("dialog", { name: "Edit task" });
    await ue.selectOptions(within(d).getByRole("combobox", { name: "Priority" }), "high");
    await ue.selectOptions(within(d).getByRole("combobox", { name: "List" }), "Work");
    await ue.click(within(d).getByRole("button", { name: "Save" }));
    await says("Saved “Write report”.");
    await waitFor(() => expect(screen.getByRole("button", { name: "Work, 1 pending" })).toBeInTheDocument());
    await ue.click(undoButton()!);
    await says("Undone: Changed “Write report”: priority high, moved to Work.");
    expect(backend.tasks[0]).toMatchObject({ priority: "none", list: "Inbox" });
    // The sidebar's counts are the server's again.
    await waitFor(() => expect(screen.getByRole("button", { name: "Inbox, 1 pending" })).toBeInTheDocument());

    await ue.type(screen.getByRole("textbox", { name: "New task" }), "Typo tsak{Enter}");
    await says("Added “Typo tsak”.");
    await ue.click(undoButton()!);
    await says("Undone: Added “Typo tsak”.");
    await waitFor(() => expect(screen.queryByRole("checkbox", { name: "Typo tsak" })).toBeNull());
    expect(backend.trash.map((t) => t.task.title)).toEqual(["Typo tsak"]);
  });

  it("a 409 shows why nothing was undone, without Undo, and shows the server's state", async () => {
    backend.addTask("alice", "Fix the tap");
    const { ue } = setup();
    await ue.click(await screen.findByRole("checkbox", { name: "Fix the tap" }));
    await says("Completed “Fix the tap”.");
    // Reopened behind history's back (a script on the database): the completion cannot be undone.
    backend.tasks[0].completed = false;
    backend.tasks[0].completed_at = null;
    await ue.click(undoButton()!);
    await says("Couldn’t undo: task 1 was changed after that; undo the later change first.");
    expect(undoButton()).toBeNull();
    expect(toast().querySelector(".toast")).toHaveAttribute("data-tone", "error");
    await waitFor(() => expect(screen.getByRole("checkbox", { name: "Fix the tap" })).not.toBeChecked());
    // Focus, which was on Undo, is on × now.
    expect(within(toast()).getByRole("button", { name: "Dismiss" })).toHaveFocus();
  });

  it("“there is nothing to undo” is the server's word too", async () => {
    backend.addTask("alice", "Seeded");
    const { ue } = setup();
    await ue.click(await screen.findByRole("checkbox", { name: "Seeded" }));
    await says("Completed “Seeded”.");
    backend.events = []; // history that was never recorded
    await ue.click(undoButton()!);
    await says("Couldn’t undo: there is nothing to undo.");
  });

  it("a rate-limited undo says when to try again, and keeps Undo", async () => {
    backend.addTask("alice", "Buy milk");
    const { ue } = setup();
    await ue.click(await screen.findByRole("button", { name: "Delete “Buy milk”" }));
    backend.rateLimitNextUndo = 7;
    await ue.click(undoButton()!);
    await says("Too many changes just now. Try again in 7 s.");
    expect(backend.tasks).toEqual([]);
    await ue.click(undoButton()!);
    await says("Undone: Deleted “Buy milk”.");
  });

  it(`goes by itself after ${TOAST_MS / 1000} s, and with ×`, async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    backend.addTask("alice", "Buy milk");
    backend.addTask("alice", "Walk the dog");
    const { ue } = setup({ advanceTimers: (ms) => vi.advanceTimersByTime(ms) });
    await ue.click(await screen.findByRole("button", { name: "Delete “Buy milk”" }));
    await says("Deleted “Buy milk”.");
    act(() => vi.advanceTimersByTime(TOAST_MS - 500));
    expect(message()).toBe("Deleted “Buy milk”.");
    act(() => vi.advanceTimersByTime(600));
    expect(message()).toBeNull();
    expect(toast()).toBeEmptyDOMElement();

    await ue.click(screen.getByRole("button", { name: "Delete “Walk the dog”" }));
    await says("Deleted “Walk the dog”.");
    await ue.click(within(toast()).getByRole("button", { name: "Dismiss" }));
    expect(message()).toBeNull();
    expect(screen.getByRole("heading", { name: "All tasks" })).toHaveFocus();
  });

  it("a change by the chat reloads the panel and withdraws the toast (its Undo would undo the chat's change)", async () => {
    backend.addTask("alice", "Buy milk");
    const { ue, rerenderWith } = setup();
    await ue.click(await screen.findByRole("checkbox", { name: "Buy milk" }));
    await says("Completed “Buy milk”.");
    backend.addTask("alice", "Added by the assistant");
    rerenderWith(1);
    expect(await screen.findByRole("checkbox", { name: "Added by the assistant" })).toBeInTheDocument();
    expect(message()).toBeNull();
  });

  it("list changes are confirmed without Undo", async () => {
    const { ue } = setup();
    await screen.findByText(/No tasks yet/);
    await ue.click(screen.getByRole("button", { name: "New list" }));
    await ue.type(screen.getByRole("textbox", { name: "New list name" }), "Errands{Enter}");
    await says("Added the list “Errands”.");
    expect(undoButton()).toBeNull();
  });
});

describe("undoneText", () => {
  const ev = (id: number, summary: string, undoes: number | null) => ({
    id, task_id: 1, kind: "updated" as const, source: "ui" as const, turn_id: null, before: null, after: null, at: "", undoes, undone: true, title: "x", summary,
  });
  it("names an undo, a redo, and an undo it cannot trace, as the server says", () => {
    const known = new Map([
      [12, { summary: "Deleted “x”", undoes: null }],
      [13, { summary: "Undo: Restored “x”", undoes: 12 }],
    ]);
    expect(undoneText([ev(12, "Deleted “x”", null)], known)).toBe("Undone: Deleted “x”.");
    expect(undoneText([ev(13, "Undo: Restored “x”", 12)], known)).toBe("Redone: Deleted “x”.");
    expect(undoneText([ev(14, "Undo: Deleted “x”", 13)], known)).toBe("Undone: Deleted “x”.");
    expect(undoneText([ev(20, "Undo: Restored “y”", 19)], known)).toBe("Undone: Undo: Restored “y”.");
    expect(undoneText([ev(12, "Deleted “x”", null), ev(11, "Added “y”", null), ev(10, "Added “z”", null)], known)).toBe("Undone: Deleted “x” and 2 more changes.");
  });
});
