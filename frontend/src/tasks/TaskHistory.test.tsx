/** A task's history in its edit dialog, against the fake backend. */
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { bearerFetch } from "../api/http";
import { TasksApi } from "../api/tasks";
import { FakeBackend, fakeToken } from "../test/fakeBackend";
import { absoluteTime } from "../ui/time";
import { TaskPanel } from "./TaskPanel";

let backend: FakeBackend;

function setup() {
  const api = new TasksApi(bearerFetch(() => fakeToken("alice")));
  render(<TaskPanel api={api} refreshKey={0} />);
  return { ue: userEvent.setup() };
}

/** A change to alice's task 1 as another client makes it (no web-app header: source `rest`). */
async function viaApi(method: string, url: string, body?: unknown) {
  await backend.fetch(url, { method, headers: { Authorization: `Bearer ${fakeToken("alice")}`, "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
}

const activityCalls = () => backend.calls.filter((c) => c.url.startsWith("/api/activity"));
const items = () => within(screen.getByRole("list", { name: "Changes, newest first" })).getAllByRole("listitem");

async function openHistory(ue: ReturnType<typeof userEvent.setup>, title: string) {
  await ue.click(await screen.findByRole("button", { name: `Edit “${title}”` }));
  const d = screen.getByRole("dialog", { name: "Edit task" });
  const toggle = within(d).getByRole("button", { name: "History" });
  expect(toggle).toHaveAttribute("aria-expanded", "false");
  expect(activityCalls()).toHaveLength(0);
  await ue.click(toggle);
  expect(toggle).toHaveAttribute("aria-expanded", "true");
  await screen.findByRole("list", { name: "Changes, newest first" });
  return { d, toggle };
}

beforeEach(() => {
  backend = new FakeBackend();
  vi.stubGlobal("fetch", backend.fetch);
});

describe("a task's history", () => {
  it("loads when opened, newest first, each with its summary, how long ago and where it came from", async () => {
    const start = Date.now();
    backend.now = () => new Date(start - 3 * 3_600_000);
    await viaApi("POST", "/api/tasks", { title: "Buy milk" });
    backend.now = () => new Date(start - 2 * 60_000);
    await viaApi("PATCH", "/api/tasks/1", { title: "Buy oat milk" });
    backend.now = () => new Date();
    // An MCP client's change, as history would record it.
    backend.events.push({ ...backend.events[1], id: 90, source: "mcp", kind: "moved", before: { list_id: null }, after: { list_id: backend.addList("alice", "Errands").id }, at: new Date().toISOString(), undoes: null, undone_by: null });
    const { ue } = setup();
    await openHistory(ue, "Buy oat milk");
    expect(activityCalls().map((c) => c.url)).toEqual(["/api/activity?task_id=1&limit=20"]);
    expect(items().map((li) => li.querySelector(".task-history-summary")!.textContent)).toEqual([
      "Moved “Buy oat milk” to Errands",
      "Renamed “Buy milk” to “Buy oat milk”",
      "Added “Buy milk”",
    ]);
    expect(items().map((li) => li.querySelector(".task-history-meta")!.textContent)).toEqual([
      "just now · via MCP",
      "2 min ago · via the API",
      "3 hours ago · via the API",
    ]);
    const time = items()[1].querySelector("time")!;
    const at = backend.events[1].at;
    expect(Math.abs(Date.parse(at) - (start - 2 * 60_000))).toBeLessThan(10);
    expect(time).toHaveAttribute("datetime", at);
    expect(time).toHaveAttribute("title", absoluteTime(at));
    expect(screen.queryByRole("button", { name: "Show older" })).toBeNull();
  });

  it("says which changes came from the app and from chat, and strikes through what was undone", async () => {
    await backend.send("alice", "threads.create", { input: { content: [{ type: "input_text", text: "add a task to call mom" }] } });
    const { ue } = setup();
    await ue.click(await screen.findByRole("checkbox", { name: "Call mom" }));
    await ue.click(await within(screen.getByRole("status")).findByRole("button", { name: "Undo" }));
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("Undone: Completed “Call mom”."));
    await openHistory(ue, "Call mom");
    const [undo, completed, added] = items();
    expect(undo).toHaveTextContent(/^Undo: Reopened “Call mom”just now · from the app$/);
    expect(undo).not.toHaveAttribute("data-undone");
    expect(completed.querySelector("s")).toHaveTextContent("Completed “Call mom”");
    expect(completed).toHaveTextContent("(undone)");
    expect(completed).toHaveTextContent("from the app");
    expect(added).toHaveTextContent(/^Added “Call mom”just now · from chat$/);
  });

  it("“Show older” goes on where the page ended, and leaves when there is no more", async () => {
    await viaApi("POST", "/api/tasks", { title: "Count" });
    for (let n = 1; n <= 24; n++) await viaApi("PATCH", "/api/tasks/1", { title: `Count ${n}` });
    const { ue } = setup();
    await openHistory(ue, "Count 24");
    expect(items()).toHaveLength(20);
    expect(items()[0]).toHaveTextContent("Renamed “Count 23” to “Count 24”");
    await ue.click(screen.getByRole("button", { name: "Show older" }));
    await waitFor(() => expect(items()).toHaveLength(25));
    expect(items()[24]).toHaveTextContent("Added “Count”");
    expect(activityCalls().at(-1)!.url).toBe(`/api/activity?task_id=1&limit=20&cursor=${backend.events[5].id}`);
    expect(screen.queryByRole("button", { name: "Show older" })).toBeNull();
    expect(screen.getByRole("list", { name: "Changes, newest first" })).toHaveFocus();
  });

  it("closes and opens again without asking twice; a task with no recorded change says so", async () => {
    backend.addTask("alice", "Seeded");
    const { ue } = setup();
    await ue.click(await screen.findByRole("button", { name: "Edit “Seeded”" }));
    const toggle = screen.getByRole("button", { name: "History" });
    await ue.click(toggle);
    expect(await screen.findByText("No changes recorded yet.")).toBeInTheDocument();
    await ue.click(toggle);
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    expect(screen.queryByText("No changes recorded yet.")).toBeNull();
    await ue.click(toggle);
    expect(screen.getByText("No changes recorded yet.")).toBeInTheDocument();
    expect(activityCalls()).toHaveLength(1);
  });

  it("explains a failure and tries again", async () => {
    await viaApi("POST", "/api/tasks", { title: "Buy milk" });
    let fail = true;
    const real = backend.fetch;
    vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
      if (fail && String(input).startsWith("/api/activity")) {
        fail = false;
        return new Response(JSON.stringify({ title: "Service Unavailable", status: 503, detail: "the database is busy; try again" }), {
          status: 503,
          headers: { "Content-Type": "application/problem+json" },
        });
      }
      return real(input, init);
    });
    const { ue } = setup();
    await ue.click(await screen.findByRole("button", { name: "Edit “Buy milk”" }));
    await ue.click(screen.getByRole("button", { name: "History" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Could not load the history: the database is busy; try again");
    await ue.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(items()).toHaveLength(1));
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
