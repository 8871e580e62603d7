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
const navButton = (name: RegExp) => within(nav()).getByRole("button", { name });
const shown = () => Array.from(document.querySelectorAll(".task .task-title"), (e) => e.textContent);
const taskCalls = () => backend.calls.filter((c) => c.method === "GET" && c.url.startsWith("/api/tasks?")).map((c) => c.url);

beforeEach(() => {
  backend = new FakeBackend();
  vi.stubGlobal("fetch", backend.fetch);
  const due = (days: number, time: string | null = null) => backend.due("alice", days, time);
  backend.addTask("alice", "Pay rent", null, false, { due: due(-2) });
  backend.addTask("alice", "Call mum", null, false, { due: due(0, "23:59"), list: "Family" });
  backend.addTask("alice", "Dentist", null, false, { due: due(3, "09:00"), list: "Health" });
  backend.addTask("alice", "Renew passport", null, false, { due: due(20) });
  backend.addTask("alice", "Read a book");
  backend.addTask("alice", "Done today", null, true, { due: due(0) });
  backend.addTask("bob", "Bob's task", null, false, { due: due(0) });
});

describe("the task sidebar", () => {
  it("shows the counts: Today with the overdue count, Upcoming, the Inbox, each list and all pending", async () => {
    setup();
    await waitFor(() => expect(navButton(/^Today/)).toHaveAccessibleName("Today, 1 overdue, 2 due"));
    expect(navButton(/^Today/).querySelector(".nav-overdue")).toHaveTextContent(/^1/);
    expect(navButton(/^Upcoming/)).toHaveAccessibleName("Upcoming, 1 due");
    expect(navButton(/^Inbox/)).toHaveAccessibleName("Inbox, 3 pending");
    expect(navButton(/^Family/)).toHaveAccessibleName("Family, 1 pending");
    expect(navButton(/^Health/)).toHaveAccessibleName("Health, 1 pending");
    expect(navButton(/^All tasks/)).toHaveAccessibleName("All tasks, 5 pending");
    // The order: Today, Upcoming, Inbox, the lists by name, All tasks, then the Trash.
    const names = within(nav())
      .getAllByRole("button")
      .filter((b) => b.classList.contains("nav-item"))
      .map((b) => b.querySelector(".nav-label")!.textContent);
    expect(names).toEqual(["Today", "Upcoming", "Inbox", "Family", "Health", "All tasks", "Trash"]);
    expect(navButton(/^All tasks/)).toHaveAttribute("aria-current", "page");
  });

  it("filters the panel by the selected view or list", async () => {
    const { ue } = setup();
    await screen.findByText("Read a book");

    await ue.click(navButton(/^Today/));
    const heading = await screen.findByRole("heading", { name: "Today" });
    await waitFor(() => expect(heading).toHaveFocus());
    await waitFor(() => expect(shown()).toEqual(["Pay rent", "Call mum"]));
    expect(taskCalls().at(-1)).toBe("/api/tasks?view=today&limit=100");
    expect(navButton(/^Today/)).toHaveAttribute("aria-current", "page");
    // A date view shows pending tasks: no status filter; and rows say which list a task is on.
    expect(screen.queryByRole("group", { name: "Show tasks" })).toBeNull();
    expect(within(screen.getByText("Call mum").closest("li")!).getByText("Family")).toBeInTheDocument();

    await ue.click(navButton(/^Upcoming/));
    await waitFor(() => expect(shown()).toEqual(["Dentist"]));
    expect(taskCalls().at(-1)).toBe("/api/tasks?view=upcoming&limit=100");

    await ue.click(navButton(/^Health/));
    await waitFor(() => expect(shown()).toEqual(["Dentist"]));
    expect(taskCalls().at(-1)).toBe("/api/tasks?list=Health&status=all&limit=100");
    // On its own list a row does not repeat the list's name.
    expect(within(screen.getByText("Dentist").closest("li")!).queryByText("Health")).toBeNull();

    await ue.click(navButton(/^Inbox/));
    await waitFor(() => expect(shown()).toEqual(["Pay rent", "Renew passport", "Read a book", "Done today"]));

    await ue.click(navButton(/^All tasks/));
    await waitFor(() => expect(shown()).toHaveLength(6));
    expect(screen.queryByText("Bob's task")).toBeNull();
  });

  it("a task added while a list is shown goes on that list", async () => {
    const { ue } = setup();
    await ue.click(await screen.findByRole("button", { name: /^Family/ }));
    await screen.findByRole("heading", { name: "Family" });
    await ue.type(screen.getByRole("textbox", { name: "New task" }), "Plan the picnic{Enter}");
    await screen.findByText("Plan the picnic");
    const post = backend.calls.find((c) => c.method === "POST" && c.url === "/api/tasks")!;
    expect(post.body).toEqual({ title: "Plan the picnic", list: "Family" });
    await waitFor(() => expect(navButton(/^Family/)).toHaveAccessibleName("Family, 2 pending"));
  });

  it("in Today a new task without a date is due today; one the view does not show says where it went", async () => {
    const { ue } = setup();
    await ue.click(await screen.findByRole("button", { name: /^Today/ }));
    await screen.findByRole("heading", { name: "Today" });
    await ue.type(screen.getByRole("textbox", { name: "New task" }), "Buy bread{Enter}");
    await screen.findByText("Buy bread");
    expect(backend.calls.filter((c) => c.method === "POST" && c.url === "/api/tasks").at(-1)!.body).toEqual({ title: "Buy bread", due: "today" });
    expect(screen.queryByText(/not shown here/)).toBeNull();
    await ue.type(screen.getByRole("textbox", { name: "New task" }), "Plan the trip next friday{Enter}");
    expect(await screen.findByText(/^Added “Plan the trip” \(Inbox, due \w{3} \d+ \w{3}( \d{4})?\); it is not shown here\.$/)).toBeInTheDocument();
    expect(screen.queryByRole("checkbox", { name: "Plan the trip" })).toBeNull();
    await ue.click(navButton(/^Upcoming/));
    expect(screen.queryByText(/not shown here/)).toBeNull();
  });

  it("adds, renames and deletes a list; deleting says the tasks move to the Inbox, and they do", async () => {
    const { ue } = setup();
    await screen.findByText("Read a book");
    await ue.click(within(nav()).getByRole("button", { name: "New list" }));
    const name = within(nav()).getByRole("textbox", { name: "New list name" });
    expect(name).toHaveFocus();
    await ue.type(name, "family{Enter}");
    expect(await within(nav()).findByRole("alert")).toHaveTextContent("you have a list named 'Family' already");
    await ue.clear(name);
    await ue.type(name, "Work{Enter}");
    expect(await within(nav()).findByRole("button", { name: /^Work/ })).toBeInTheDocument();
    expect(backend.lists.map((l) => l.name)).toContain("Work");

    await ue.click(within(nav()).getByRole("button", { name: "Rename list “Health”" }));
    const rename = within(nav()).getByRole("textbox", { name: "Rename “Health”" });
    await ue.clear(rename);
    await ue.type(rename, "Doctor{Enter}");
    await within(nav()).findByRole("button", { name: /^Doctor/ });
    expect(backend.tasks.find((t) => t.title === "Dentist")!.list).toBe("Doctor");

    await ue.click(navButton(/^Doctor/));
    await screen.findByRole("heading", { name: "Doctor" });
    await ue.click(within(nav()).getByRole("button", { name: "Delete list “Doctor”" }));
    expect(within(nav()).getByText(/Delete the list “Doctor”\? Its task moves to the Inbox\./)).toBeInTheDocument();
    const confirm = within(nav()).getByRole("button", { name: "Delete list" });
    expect(confirm).toHaveFocus();
    await ue.click(confirm);
    await waitFor(() => expect(within(nav()).queryByRole("button", { name: /^Doctor/ })).toBeNull());
    expect(backend.calls.some((c) => c.method === "DELETE" && /^\/api\/lists\/\d+$/.test(c.url))).toBe(true);
    expect(backend.tasks.find((t) => t.title === "Dentist")!.list).toBe("Inbox");
    // The panel moves to the Inbox, where the task now is.
    expect(await screen.findByRole("heading", { name: "Inbox" })).toBeInTheDocument();
    await screen.findByText("Dentist");
    await waitFor(() => expect(navButton(/^Inbox/)).toHaveAccessibleName("Inbox, 4 pending"));
  });

  it("Escape cancels a delete and a rename", async () => {
    const { ue } = setup();
    await screen.findByText("Read a book");
    await ue.click(await within(nav()).findByRole("button", { name: "Delete list “Family”" }));
    await ue.keyboard("{Escape}");
    await waitFor(() => expect(within(nav()).getByRole("button", { name: "Rename list “Family”" })).toHaveFocus());
    await ue.click(within(nav()).getByRole("button", { name: "Rename list “Family”" }));
    await ue.keyboard("X{Escape}");
    expect(within(nav()).getByRole("button", { name: /^Family/ })).toBeInTheDocument();
    expect(backend.calls.some((c) => c.url.startsWith("/api/lists/") && c.method !== "GET")).toBe(false);
  });
});
