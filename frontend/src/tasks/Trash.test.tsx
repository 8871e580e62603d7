/** The Trash in the task sidebar: deleted tasks, read-only, each with Restore (then a toast with Undo). */
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { bearerFetch } from "../api/http";
import { TasksApi } from "../api/tasks";
import { FakeBackend, fakeToken } from "../test/fakeBackend";
import { TaskPanel } from "./TaskPanel";

let backend: FakeBackend;

function setup() {
  const api = new TasksApi(bearerFetch(() => fakeToken("alice")));
  render(<TaskPanel api={api} refreshKey={0} />);
  return { ue: userEvent.setup() };
}

const nav = () => screen.getByRole("navigation", { name: "Task lists" });
const trashList = () => screen.getByRole("list", { name: "Trash" });
const message = () => screen.getByRole("status").querySelector(".toast-msg")?.textContent ?? null;

async function remove(title: string) {
  await backend.fetch(`/api/tasks/${backend.tasks.find((t) => t.title === title)!.id}`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${fakeToken("alice")}` },
  });
}

beforeEach(() => {
  backend = new FakeBackend();
  vi.stubGlobal("fetch", backend.fetch);
});

describe("the Trash", () => {
  it("shows the deleted tasks, most recent first, read-only, and says how long they stay", async () => {
    backend.addList("alice", "Work");
    backend.addTask("alice", "Old report", "Q2 numbers", false, { list: "Work", priority: "high", tags: ["office"], due: backend.due("alice", 2) });
    backend.addTask("alice", "Done thing", null, true);
    backend.addTask("alice", "Still here");
    backend.addTask("bob", "Bob's");
    await remove("Old report");
    await remove("Done thing");
    await backend.fetch("/api/tasks/1", { method: "DELETE", headers: { Authorization: `Bearer ${fakeToken("bob")}` } });
    const { ue } = setup();
    await ue.click(within(nav()).getByRole("button", { name: "Trash" }));
    // Focus moves to the heading once the view has rendered.
    await waitFor(() => expect(screen.getByRole("heading", { name: "Trash" })).toHaveFocus());
    expect(within(nav()).getByRole("button", { name: "Trash" })).toHaveAttribute("aria-current", "page");
    await waitFor(() => expect(within(trashList()).getAllByRole("listitem")).toHaveLength(2));
    expect(backend.calls.filter((c) => c.url.startsWith("/api/trash")).at(-1)!.url).toBe("/api/trash?limit=100");
    const [done, report] = within(trashList()).getAllByRole("listitem");
    expect(done).toHaveTextContent("Done thing (completed)");
    expect(report).toHaveTextContent("Old report");
    expect(report).toHaveTextContent("Q2 numbers");
    expect(report).toHaveTextContent("List: Work");
    expect(within(report).getByRole("img", { name: "High priority" })).toBeInTheDocument();
    expect(report).toHaveTextContent("#office");
    // Read-only: no checkbox, no edit or delete; the only control is Restore.
    expect(within(trashList()).queryAllByRole("checkbox")).toHaveLength(0);
    expect(within(report).getAllByRole("button").map((b) => b.getAttribute("aria-label"))).toEqual(["Restore “Old report”"]);
    expect(screen.getByText("Deleted tasks stay here for 30 days, then they are gone for good.")).toHaveClass("muted");
    expect(screen.getByText("2 in the trash")).toBeInTheDocument();
    // No adding to or filtering the trash.
    expect(screen.queryByRole("textbox", { name: "New task" })).toBeNull();
    expect(screen.queryByRole("group", { name: "Show tasks" })).toBeNull();
    expect(screen.queryByText("Bob's")).toBeNull();
  });

  it("Restore brings the task back with its number, then Undo puts it back in the trash", async () => {
    backend.addTask("alice", "Buy milk", null, false, { tags: ["errands"] });
    backend.addTask("alice", "Walk the dog");
    await remove("Buy milk");
    const { ue } = setup();
    await ue.click(await within(nav()).findByRole("button", { name: "Trash" }));
    await ue.click(await screen.findByRole("button", { name: "Restore “Buy milk”" }));
    expect(await screen.findByText("Trash is empty")).toBeInTheDocument();
    await waitFor(() => expect(message()).toBe("Restored “Buy milk”."));
    expect(backend.calls.some((c) => c.method === "POST" && c.url === "/api/tasks/1/restore" && c.headers.get("X-Smart-Todo-Client") === "web")).toBe(true);
    expect(backend.tasks.find((t) => t.title === "Buy milk")).toMatchObject({ id: 1, tags: ["errands"] });
    // The counts are the server's: two pending again.
    await waitFor(() => expect(within(nav()).getByRole("button", { name: "All tasks, 2 pending" })).toBeInTheDocument());

    await ue.click(within(screen.getByRole("status")).getByRole("button", { name: "Undo" }));
    await waitFor(() => expect(message()).toBe("Undone: Restored “Buy milk”."));
    expect(await within(trashList()).findByText("Buy milk")).toBeInTheDocument();
    expect(backend.tasks.map((t) => t.title)).toEqual(["Walk the dog"]);
  });

  it("a task no longer in the trash is explained, and the trash is reloaded", async () => {
    backend.addTask("alice", "Buy milk");
    await remove("Buy milk");
    const { ue } = setup();
    await ue.click(await within(nav()).findByRole("button", { name: "Trash" }));
    const restore = await screen.findByRole("button", { name: "Restore “Buy milk”" });
    backend.trash = []; // gone meanwhile (30 days passed, or restored in another tab)
    await ue.click(restore);
    expect(await screen.findByRole("alert")).toHaveTextContent("task 1 is not in the trash (deleted tasks stay there 30 days)");
    await waitFor(() => expect(screen.queryByRole("button", { name: "Restore “Buy milk”" })).toBeNull());
    expect(message()).toBeNull();
  });

  it("pages with Load more", async () => {
    for (let n = 1; n <= 105; n++) backend.addTask("alice", `Task ${n}`);
    for (let n = 1; n <= 105; n++) await remove(`Task ${n}`);
    const { ue } = setup();
    await ue.click(await within(nav()).findByRole("button", { name: "Trash" }));
    await waitFor(() => expect(within(trashList()).getAllByRole("listitem")).toHaveLength(100));
    expect(screen.getByText("100+ in the trash")).toBeInTheDocument();
    await ue.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(within(trashList()).getAllByRole("listitem")).toHaveLength(105));
    expect(within(trashList()).getAllByRole("listitem").at(-1)).toHaveTextContent("Task 1");
  });
});
