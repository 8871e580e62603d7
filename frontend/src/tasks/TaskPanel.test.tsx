import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { bearerFetch } from "../api/http";
import { TasksApi } from "../api/tasks";
import { FakeBackend, fakeToken } from "../test/fakeBackend";
import { TaskPanel } from "./TaskPanel";

let backend: FakeBackend;

function setup(refreshKey = 0) {
  const api = new TasksApi(bearerFetch(() => fakeToken("alice")));
  const utils = render(<TaskPanel api={api} refreshKey={refreshKey} />);
  return { ...utils, api, ue: userEvent.setup(), rerenderWith: (k: number) => utils.rerender(<TaskPanel api={api} refreshKey={k} />) };
}

const list = () => screen.getByRole("list", { name: "All tasks" });
const row = (title: string) => screen.getByRole("checkbox", { name: title }).closest("li")!;

beforeEach(() => {
  backend = new FakeBackend();
  vi.stubGlobal("fetch", backend.fetch);
});

describe("TaskPanel", () => {
  it("lists only the signed-in user's tasks and filters by status", async () => {
    backend.addTask("alice", "Buy milk");
    backend.addTask("alice", "File taxes", "before April", true);
    backend.addTask("bob", "Bob's task");
    const { ue } = setup();
    expect(await screen.findByRole("checkbox", { name: "Buy milk" })).not.toBeChecked();
    expect(screen.getByRole("checkbox", { name: "File taxes" })).toBeChecked();
    expect(screen.getByText("before April")).toBeInTheDocument();
    expect(screen.queryByText("Bob's task")).toBeNull();
    expect(screen.getByText("1 pending · 1 done")).toBeInTheDocument();

    await ue.click(screen.getByRole("button", { name: "Pending" }));
    expect(screen.getByRole("button", { name: "Pending" })).toHaveAttribute("aria-pressed", "true");
    await waitFor(() => expect(screen.queryByText("File taxes")).toBeNull());
    expect(within(list()).getByText("Buy milk")).toBeInTheDocument();
    expect(backend.calls.filter((c) => c.url.startsWith("/api/tasks")).at(-1)!.url).toBe("/api/tasks?status=pending&limit=100");

    await ue.click(screen.getByRole("button", { name: "Completed" }));
    await waitFor(() => expect(screen.queryByText("Buy milk")).toBeNull());
    expect(within(list()).getByText("File taxes")).toBeInTheDocument();
  });

  it("shows due dates, overdue ones marked, and completing a recurring task moves it on once", async () => {
    backend.addTask("alice", "Pay the bill");
    const bill = backend.tasks.find((t) => t.title === "Pay the bill")!;
    bill.due = { date: "2020-01-06", time: "09:00", timezone: "UTC", at: "2020-01-06T09:00:00Z", recurrence: null, text: "Mon 6 Jan 2020, 09:00" };
    backend.addTask("alice", "Water the plants");
    const plants = backend.tasks.find((t) => t.title === "Water the plants")!;
    plants.due = { date: "2099-01-01", time: null, timezone: "UTC", at: null, recurrence: { rule: "FREQ=DAILY", text: "every day" }, text: "Thu 1 Jan 2099" };
    const { ue } = setup();
    await screen.findByRole("checkbox", { name: "Pay the bill" });
    const overdue = within(row("Pay the bill")).getByText(/Mon 6 Jan 2020/);
    expect(overdue.closest(".due-chip")).toHaveAttribute("data-overdue", "true");
    expect(within(row("Pay the bill")).getByText("Overdue:")).toBeInTheDocument();
    const upcoming = within(row("Water the plants")).getByText(/Thu 1 Jan 2099/);
    expect(upcoming.closest(".due-chip")).not.toHaveAttribute("data-overdue");

    await ue.click(screen.getByRole("checkbox", { name: "Water the plants" }));
    expect(await screen.findByText("Completed “Water the plants”; next due Fri 2 Jan 2099.")).toBeInTheDocument();
    expect(screen.getByRole("checkbox", { name: "Water the plants" })).not.toBeChecked();
    expect(backend.calls.some((c) => c.url === `/api/tasks/${plants.id}/complete?occurrence=2099-01-01`)).toBe(true);
    expect(within(row("Water the plants")).getByText(/Fri 2 Jan/)).toBeInTheDocument();
  });

  it("adds a task with a description, and explains an empty title", async () => {
    const { ue } = setup();
    expect(await screen.findByText(/No tasks yet/)).toBeInTheDocument();
    await ue.click(screen.getByRole("button", { name: "Add" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Enter a title for the task.");
    expect(screen.getByRole("textbox", { name: "New task" })).toHaveFocus();

    await ue.type(screen.getByRole("textbox", { name: "New task" }), "Call the plumber");
    await ue.click(screen.getByRole("button", { name: "Add details" }));
    await ue.type(screen.getByRole("textbox", { name: "Description" }), "Kitchen sink");
    await ue.click(screen.getByRole("button", { name: "Add" }));
    expect(await screen.findByRole("checkbox", { name: "Call the plumber" })).toBeInTheDocument();
    expect(screen.getByText("Kitchen sink")).toBeInTheDocument();
    expect(backend.tasks[0]).toMatchObject({ title: "Call the plumber", description: "Kitchen sink" });
    expect(screen.getByRole("textbox", { name: "New task" })).toHaveValue("");
    expect(screen.getByRole("status")).toHaveTextContent("Added “Call the plumber”.");
  });

  it("completes and reopens with the checkbox, and hides a task the filter no longer shows", async () => {
    backend.addTask("alice", "Buy milk");
    const { ue } = setup();
    await ue.click(await screen.findByRole("checkbox", { name: "Buy milk" }));
    await waitFor(() => expect(screen.getByRole("checkbox", { name: "Buy milk" })).toBeChecked());
    expect(backend.tasks[0].completed).toBe(true);
    await ue.click(screen.getByRole("checkbox", { name: "Buy milk" }));
    await waitFor(() => expect(screen.getByRole("checkbox", { name: "Buy milk" })).not.toBeChecked());
    expect(backend.calls.map((c) => `${c.method} ${c.url}`)).toEqual(
      expect.arrayContaining(["POST /api/tasks/1/complete", "POST /api/tasks/1/reopen"]),
    );

    await ue.click(screen.getByRole("button", { name: "Pending" }));
    await ue.click(await screen.findByRole("checkbox", { name: "Buy milk" }));
    await waitFor(() => expect(screen.queryByRole("checkbox", { name: "Buy milk" })).toBeNull());
  });

  it("edits title and description (Escape cancels) and returns focus to Edit", async () => {
    backend.addTask("alice", "Buy milk", "2 litres");
    const { ue } = setup();
    await screen.findByRole("checkbox", { name: "Buy milk" });

    await ue.click(within(row("Buy milk")).getByRole("button", { name: "Edit “Buy milk”" }));
    expect(screen.getByRole("textbox", { name: "Title" })).toHaveFocus();
    await ue.keyboard("{Escape}");
    await waitFor(() => expect(screen.getByRole("button", { name: "Edit “Buy milk”" })).toHaveFocus());

    await ue.click(screen.getByRole("button", { name: "Edit “Buy milk”" }));
    const title = screen.getByRole("textbox", { name: "Title" });
    await ue.clear(title);
    await ue.type(title, "Buy oat milk");
    const desc = screen.getByRole("textbox", { name: "Description" });
    await ue.clear(desc);
    await ue.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("checkbox", { name: "Buy oat milk" })).toBeInTheDocument();
    expect(backend.tasks[0]).toMatchObject({ title: "Buy oat milk", description: null });
    const patch = backend.calls.find((c) => c.method === "PATCH")!;
    expect(patch.body).toEqual({ title: "Buy oat milk", description: null });
    await waitFor(() => expect(screen.getByRole("button", { name: "Edit “Buy oat milk”" })).toHaveFocus());
  });

  it("shows the server's validation message when a save is rejected", async () => {
    backend.addTask("alice", "Buy milk");
    const { ue } = setup();
    await screen.findByRole("checkbox", { name: "Buy milk" });
    await ue.click(screen.getByRole("button", { name: "Edit “Buy milk”" }));
    const title = screen.getByRole("textbox", { name: "Title" });
    await ue.clear(title);
    await ue.type(title, "   ");
    await ue.click(screen.getByRole("button", { name: "Save" }));
    expect(screen.getByRole("textbox", { name: "Title" })).toHaveAccessibleDescription("The title cannot be empty.");
    expect(screen.getByRole("textbox", { name: "Title" })).toHaveFocus();
    expect(backend.calls.some((c) => c.method === "PATCH")).toBe(false);
  });

  it("deletes a task and moves focus to the panel heading", async () => {
    backend.addTask("alice", "Buy milk");
    backend.addTask("alice", "Walk the dog");
    const { ue } = setup();
    await ue.click(await screen.findByRole("button", { name: "Delete “Buy milk”" }));
    await waitFor(() => expect(screen.queryByText("Buy milk")).toBeNull());
    expect(backend.tasks.map((t) => t.title)).toEqual(["Walk the dog"]);
    expect(screen.getByRole("heading", { name: "All tasks" })).toHaveFocus();
    expect(screen.getByRole("status")).toHaveTextContent("Deleted “Buy milk”.");
  });

  it("reloads when the chat says tasks changed", async () => {
    const { rerenderWith } = setup(0);
    expect(await screen.findByText(/No tasks yet/)).toBeInTheDocument();
    backend.addTask("alice", "Added by the assistant");
    rerenderWith(1);
    expect(await screen.findByRole("checkbox", { name: "Added by the assistant" })).toBeInTheDocument();
  });

  it("searches as the user types (accents and word starts match), with a header and a way back", async () => {
    backend.addTask("alice", "Buy milk", "semi-skimmed");
    backend.addTask("alice", "Café with Ana");
    backend.addTask("alice", "Call the plumber", "about the milky water", true);
    backend.addTask("bob", "Bob's milk");
    const { ue } = setup();
    await screen.findByRole("checkbox", { name: "Buy milk" });
    const box = screen.getByRole("searchbox", { name: "Search tasks" });
    await ue.type(box, "mil");
    expect(await screen.findByRole("heading", { name: "Results for “mil”" })).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole("checkbox", { name: "Café with Ana" })).toBeNull());
    const results = screen.getByRole("list", { name: "Results for “mil”" });
    expect(within(results).getAllByRole("checkbox").map((c) => c.closest("li")!.querySelector(".task-title")!.textContent)).toEqual([
      "Buy milk",
      "Call the plumber",
    ]);
    // Debounced: one search for the word, not one per key.
    const searches = backend.calls.filter((c) => c.url.includes("q="));
    expect(searches.map((c) => c.url)).toEqual(["/api/tasks?q=mil&status=all&limit=100"]);
    expect(screen.queryByRole("textbox", { name: "New task" })).toBeNull();

    await ue.clear(box);
    await ue.type(box, "cafe");
    await screen.findByRole("heading", { name: "Results for “cafe”" });
    await waitFor(() => expect(screen.getAllByRole("checkbox")).toHaveLength(1));
    expect(screen.getByRole("checkbox", { name: "Café with Ana" })).toBeInTheDocument();

    await ue.type(box, "teria");
    expect(await screen.findByText("No tasks match “cafeteria”.")).toBeInTheDocument();

    await ue.click(screen.getByRole("button", { name: "Clear search" }));
    expect(await screen.findByRole("heading", { name: "All tasks" })).toBeInTheDocument();
    expect(box).toHaveValue("");
    expect(box).toHaveFocus();
    await waitFor(() => expect(screen.getAllByRole("checkbox")).toHaveLength(3));

    // Escape in the field clears it too.
    await ue.type(box, "plumb");
    await screen.findByRole("heading", { name: "Results for “plumb”" });
    await ue.keyboard("{Escape}");
    expect(await screen.findByRole("heading", { name: "All tasks" })).toBeInTheDocument();
  });

  it("a tag on a row filters by it, and the tag view has a way back", async () => {
    backend.addTask("alice", "Buy milk", null, false, { tags: ["errands", "shop"] });
    backend.addTask("alice", "Post the parcel", null, false, { tags: ["errands"] });
    backend.addTask("alice", "Read a book");
    const { ue } = setup();
    await screen.findByRole("checkbox", { name: "Buy milk" });
    await ue.click(within(row("Buy milk")).getByRole("button", { name: "Show tasks tagged errands" }));
    const heading = await screen.findByRole("heading", { name: "#errands" });
    await waitFor(() => expect(heading).toHaveFocus());
    await waitFor(() => expect(screen.queryByRole("checkbox", { name: "Read a book" })).toBeNull());
    expect(screen.getAllByRole("checkbox")).toHaveLength(2);
    expect(backend.calls.filter((c) => c.url.startsWith("/api/tasks?")).at(-1)!.url).toBe("/api/tasks?tag=errands&status=all&limit=100");
    expect(screen.getByText(/Tasks tagged/)).toHaveTextContent("Tasks tagged #errands");
    await ue.click(screen.getByRole("button", { name: "Show all tasks" }));
    expect(await screen.findByRole("heading", { name: "All tasks" })).toBeInTheDocument();
    await waitFor(() => expect(screen.getAllByRole("checkbox")).toHaveLength(3));
  });

  it("shows each row's priority flag, tags and list", async () => {
    backend.addTask("alice", "Ship it", null, false, { priority: "high", list: "Work" });
    backend.addTask("alice", "Tidy desk", null, false, { priority: "medium" });
    backend.addTask("alice", "Maybe later", null, false, { priority: "low", tags: ["someday"] });
    backend.addTask("alice", "Plain");
    setup();
    await screen.findByRole("checkbox", { name: "Ship it" });
    expect(within(row("Ship it")).getByRole("img", { name: "High priority" })).toHaveAttribute("data-priority", "high");
    expect(within(row("Tidy desk")).getByRole("img", { name: "Medium priority" })).toBeInTheDocument();
    expect(within(row("Maybe later")).getByRole("img", { name: "Low priority" })).toBeInTheDocument();
    expect(within(row("Plain")).queryByRole("img")).toBeNull();
    expect(within(row("Ship it")).getByText("Work")).toBeInTheDocument();
    expect(within(row("Plain")).getByText("Inbox")).toBeInTheDocument();
    expect(within(row("Maybe later")).getByRole("button", { name: "Show tasks tagged someday" })).toBeInTheDocument();
  });
});
