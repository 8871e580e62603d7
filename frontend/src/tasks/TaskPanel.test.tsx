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

const list = () => screen.getByRole("list", { name: "Tasks" });
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
    expect(backend.calls.at(-1)!.url).toBe("/api/tasks?status=pending&limit=100");

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
    expect(await screen.findByText("Completed “Water the plants”; next due Fri 2 Jan.")).toBeInTheDocument();
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
    expect(screen.getByRole("alert")).toHaveTextContent("The title cannot be empty.");
  });

  it("deletes a task and moves focus to the panel heading", async () => {
    backend.addTask("alice", "Buy milk");
    backend.addTask("alice", "Walk the dog");
    const { ue } = setup();
    await ue.click(await screen.findByRole("button", { name: "Delete “Buy milk”" }));
    await waitFor(() => expect(screen.queryByText("Buy milk")).toBeNull());
    expect(backend.tasks.map((t) => t.title)).toEqual(["Walk the dog"]);
    expect(screen.getByRole("heading", { name: "Tasks" })).toHaveFocus();
    expect(screen.getByRole("status")).toHaveTextContent("Deleted “Buy milk”.");
  });

  it("reloads when the chat says tasks changed", async () => {
    const { rerenderWith } = setup(0);
    expect(await screen.findByText(/No tasks yet/)).toBeInTheDocument();
    backend.addTask("alice", "Added by the assistant");
    rerenderWith(1);
    expect(await screen.findByRole("checkbox", { name: "Added by the assistant" })).toBeInTheDocument();
  });
});
