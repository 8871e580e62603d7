/**
 * The fake's history, trash and undo follow the server's (functions/tasks/tests/history.rs and migration
 * V10): what each change records, the summaries, the trash, and undo / redo / refusal.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { FakeBackend, fakeToken, summarise } from "./fakeBackend";

type Ev = { id: number; kind: string; source: string; undone: boolean; undoes: number | null; summary: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null; turn_id: string | null; task_id: number };

let b: FakeBackend;

async function call(method: string, url: string, body?: unknown, opts: { user?: string; web?: boolean; client?: string } = {}) {
  const headers = new Headers({ Authorization: `Bearer ${fakeToken(opts.user ?? "alice")}`, "Content-Type": "application/json" });
  if (opts.web) headers.set("X-Smart-Todo-Client", "web");
  if (opts.client) headers.set("X-Smart-Todo-Client", opts.client);
  const res = await b.fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}
const events = async (query = "", user = "alice") => (await call("GET", `/api/activity${query}`, undefined, { user })).body.events as Ev[];
const undo = (body: unknown = {}, user = "alice") => call("POST", "/api/undo", body, { user, web: true });

beforeEach(() => {
  b = new FakeBackend();
});

describe("the fake's history", () => {
  it("records every change with its source and only the fields it changed; a change of nothing records none", async () => {
    const id = (await call("POST", "/api/tasks", { title: "Buy milk" })).body.id;
    await call("PATCH", `/api/tasks/${id}`, { title: "Buy oat milk", priority: "high" }, { web: true });
    await call("PATCH", `/api/tasks/${id}`, { due: { date: "2027-01-05", time: "17:00" }, tags: ["shop"] });
    await call("PATCH", `/api/tasks/${id}`, { list: "Errands" });
    await call("POST", `/api/tasks/${id}/complete`);
    await call("POST", `/api/tasks/${id}/reopen`);
    await call("PATCH", `/api/tasks/${id}`, { title: "Buy oat milk" });
    const ev = await events();
    expect(ev.map((e) => e.kind)).toEqual(["reopened", "completed", "moved", "updated", "updated", "created"]);
    expect(ev.map((e) => e.source)).toEqual(["rest", "rest", "rest", "rest", "ui", "rest"]);
    expect(ev[5].before).toBeNull();
    expect(ev[5].after).toMatchObject({ title: "Buy milk", list: "Inbox", priority: "none" });
    expect(ev[5].summary).toBe("Added “Buy milk”");
    expect(ev[4].before).toEqual({ title: "Buy milk", priority: "none" });
    expect(ev[4].after).toEqual({ title: "Buy oat milk", priority: "high" });
    expect(ev[4].summary).toBe("Renamed “Buy milk” to “Buy oat milk”, priority high");
    expect(ev[3].summary).toMatch(/^Changed “Buy oat milk”: due \w{3} 5 Jan 2027, 17:00, tags #shop$/);
    expect(ev[2]).toMatchObject({ before: { list: "Inbox" }, after: { list: "Errands" }, summary: "Moved “Buy oat milk” to Errands" });
    expect(ev[1].after).toMatchObject({ completed: true });
    expect(ev[0].summary).toBe("Reopened “Buy oat milk”");
    expect(ev.every((e) => e.task_id === id && e.turn_id === null && !e.undone)).toBe(true);
    expect(ev.map((e) => e.id)).toEqual([...ev.map((e) => e.id)].sort((x, y) => y - x));
  });

  it("pages newest first, and filters by task", async () => {
    for (const t of ["One", "Two", "Three"]) await call("POST", "/api/tasks", { title: t });
    await call("PATCH", "/api/tasks/1", { title: "Uno" });
    const first = await call("GET", "/api/activity?limit=3");
    expect(first.body.events.map((e: Ev) => e.summary)).toEqual(["Renamed “One” to “Uno”", "Added “Three”", "Added “Two”"]);
    const rest = await call("GET", `/api/activity?limit=3&cursor=${first.body.next_cursor}`);
    expect(rest.body).toMatchObject({ next_cursor: null });
    expect(rest.body.events.map((e: Ev) => e.summary)).toEqual(["Added “One”"]); // a change names the task as it was then
    expect((await events("?task_id=1")).length).toBe(2);
    expect(await events("", "bob")).toEqual([]);
    for (const q of ["?limit=0", "?limit=101", "?limit=ten", "?cursor=abc", "?task_id=0"]) expect((await call("GET", `/api/activity${q}`)).status).toBe(422);
    expect((await call("GET", "/api/activity?since=1")).status).toBe(400);
  });

  it("a recurring completion is one `completed` with the next due; a seed records nothing", async () => {
    b.addTask("alice", "Seeded");
    const id = (await call("POST", "/api/tasks", { title: "Water plants", due: { date: "2099-01-05", recurrence: { rule: "FREQ=DAILY" } } })).body.id;
    await call("POST", `/api/tasks/${id}/complete`);
    const ev = await events();
    expect(ev.map((e) => e.kind)).toEqual(["completed", "created"]);
    expect(ev[0].summary).toMatch(/^Completed “Water plants”; next due \w{3} 6 Jan 2099$/);
    expect(Object.keys(ev[0].after!).sort()).toEqual(["due", "last_completed_at"]);
  });

  it("a web app header other than `web` is a 400 on a write", async () => {
    expect((await call("POST", "/api/tasks", { title: "x" }, { client: "curl" })).status).toBe(400);
    expect(b.tasks).toEqual([]);
  });

  it("summaries read as the server's", () => {
    expect(summarise("updated", "x", { description: "a" }, { description: null }, null)).toBe("Changed “x”: removed the description");
    expect(summarise("updated", "x", { due: {} }, { due: null }, null)).toBe("Changed “x”: removed the due date");
    expect(summarise("updated", "x", { tags: ["a"] }, { tags: [] }, null)).toBe("Changed “x”: removed the tags");
    expect(summarise("updated", "x", {}, {}, null)).toBe("Changed “x”");
    expect(summarise("restored", "x", null, {}, 12)).toBe("Undo: Restored “x”");
  });
});

describe("the fake's trash", () => {
  it("keeps a deleted task 30 days, newest first, and Restore brings it back with its number", async () => {
    for (const t of ["One", "Two", "Three"]) await call("POST", "/api/tasks", { title: t });
    await call("PATCH", "/api/tasks/2", { list: "Work", tags: ["x"] });
    expect((await call("DELETE", "/api/tasks/2")).status).toBe(204);
    expect((await call("GET", "/api/tasks/2")).status).toBe(404);
    expect((await call("GET", "/api/counts")).body.pending).toBe(2);
    const trash = await call("GET", "/api/trash");
    expect(trash.body).toMatchObject({ tasks: [{ id: 2, title: "Two", list: "Work", tags: ["x"] }], next_cursor: null });
    expect((await call("POST", "/api/tasks", { title: "Four" })).body.id).toBe(4);
    const back = await call("POST", "/api/tasks/2/restore");
    expect(back).toMatchObject({ status: 200, body: { id: 2, title: "Two", list: "Work" } });
    expect((await call("POST", "/api/tasks/2/restore")).status).toBe(404);
    expect((await events("?task_id=2")).map((e) => e.kind)).toEqual(["restored", "deleted", "updated", "created"]);
    // A list deleted while the task was in the trash: back to the Inbox.
    await call("DELETE", "/api/tasks/2");
    const work = b.lists.find((l) => l.name === "Work")!;
    await call("DELETE", `/api/lists/${work.id}`);
    expect((await call("GET", "/api/trash")).body.tasks[0].list).toBe("Inbox");
    expect((await call("POST", "/api/tasks/2/restore")).body.list).toBe("Inbox");
  });

  it("pages, and forgets a task deleted more than 30 days ago", async () => {
    for (let n = 1; n <= 5; n++) await call("POST", "/api/tasks", { title: `Task ${n}` });
    for (let n = 1; n <= 4; n++) await call("DELETE", `/api/tasks/${n}`);
    const page = await call("GET", "/api/trash?limit=3");
    expect(page.body.tasks.map((t: { id: number }) => t.id)).toEqual([4, 3, 2]);
    const next = await call("GET", `/api/trash?limit=3&cursor=${page.body.next_cursor}`);
    expect(next.body).toMatchObject({ tasks: [{ id: 1 }], next_cursor: null });
    expect((await call("GET", "/api/trash?cursor=x.y")).status).toBe(422);
    b.trash.find((t) => t.task.id === 1)!.deleted_at = new Date(Date.now() - 31 * 86_400_000).toISOString();
    expect((await call("GET", "/api/trash")).body.tasks.length).toBe(3);
    expect((await call("POST", "/api/tasks/1/restore")).status).toBe(404);
  });
});

describe("the fake's undo", () => {
  it("reverses the latest change; undoing again redoes it; each undo is recorded", async () => {
    const id = (await call("POST", "/api/tasks", { title: "Call mom" })).body.id;
    await call("PATCH", `/api/tasks/${id}`, { title: "Call mom tonight" });
    const first = await undo();
    expect(first.status).toBe(200);
    expect(first.body.undone).toMatchObject([{ kind: "updated", undone: true, summary: "Renamed “Call mom” to “Call mom tonight”" }]);
    expect((await call("GET", `/api/tasks/${id}`)).body.title).toBe("Call mom");
    const ev = await events();
    expect(ev[0]).toMatchObject({ undoes: ev[1].id, source: "ui", summary: "Undo: Renamed “Call mom tonight” to “Call mom”" });
    await undo();
    expect((await call("GET", `/api/tasks/${id}`)).body.title).toBe("Call mom tonight");
    await undo();
    expect((await call("GET", `/api/tasks/${id}`)).body.title).toBe("Call mom");
  });

  it("a delete undone comes back with its number; a create undone goes to the trash, and back", async () => {
    const id = (await call("POST", "/api/tasks", { title: "Keep", priority: "high", tags: ["a"] })).body.id;
    await call("POST", `/api/tasks/${id}/complete`);
    const doneAt = (await call("GET", `/api/tasks/${id}`)).body.completed_at;
    await call("DELETE", `/api/tasks/${id}`);
    expect((await undo()).body.undone[0].kind).toBe("deleted");
    expect((await call("GET", `/api/tasks/${id}`)).body).toMatchObject({ title: "Keep", priority: "high", tags: ["a"], completed: true, completed_at: doneAt });
    const typo = (await call("POST", "/api/tasks", { title: "Typo tsak" })).body.id;
    await undo();
    expect((await call("GET", `/api/tasks/${typo}`)).status).toBe(404);
    expect((await call("GET", "/api/trash")).body.tasks[0].id).toBe(typo);
    await undo();
    expect((await call("GET", `/api/tasks/${typo}`)).body.title).toBe("Typo tsak");
  });

  it("takes back every move of a deleted list together", async () => {
    await call("POST", "/api/tasks", { title: "A", list: "Work" });
    await call("POST", "/api/tasks", { title: "B", list: "Work" });
    const work = b.lists.find((l) => l.name === "Work")!;
    await call("DELETE", `/api/lists/${work.id}`);
    const ev = await events();
    expect(ev.slice(0, 2).map((e) => [e.kind, e.summary])).toEqual([
      ["moved", "Moved “B” to Inbox"],
      ["moved", "Moved “A” to Inbox"],
    ]);
    // The list is gone, so its tasks stay in the Inbox, but both moves are undone as one.
    expect((await undo()).body.undone.map((e: Ev) => e.summary)).toEqual(["Moved “B” to Inbox", "Moved “A” to Inbox"]);
  });

  it("undoes a whole chat turn, and refuses (changing nothing) when a later change would be overwritten", async () => {
    await b.send("alice", "threads.create", { input: { content: [{ type: "input_text", text: "add a task to buy eggs" }] } });
    const [created] = await events();
    expect(created).toMatchObject({ kind: "created", source: "chat", summary: "Added “Buy eggs”" });
    expect(created.turn_id).toMatch(/^[0-9a-f-]{36}$/);
    await call("PATCH", `/api/tasks/${created.task_id}`, { title: "Brown eggs" }, { web: true });
    const refused = await undo({ turn_id: created.turn_id });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toBe(`task ${created.task_id} was changed after that; undo the later change first`);
    expect((await call("GET", `/api/tasks/${created.task_id}`)).body.title).toBe("Brown eggs");
    expect((await events()).every((e) => !e.undone)).toBe(true);
    await undo();
    expect((await undo({ turn_id: created.turn_id })).status).toBe(200);
    expect((await call("GET", "/api/trash")).body.tasks.map((t: { title: string }) => t.title)).toEqual(["Buy eggs"]);
    expect((await undo({ turn_id: created.turn_id })).body.detail).toBe("everything that changed has been undone already");
  });

  it("refuses a task changed behind history's back, and leaves everything as it was", async () => {
    const id = (await call("POST", "/api/tasks", { title: "Fix the tap" })).body.id;
    await call("POST", `/api/tasks/${id}/complete`);
    const before = JSON.stringify([b.tasks, b.events]);
    b.tasks[0].completed = false; // a write that records nothing (a script on the database)
    b.tasks[0].completed_at = null;
    const refused = await undo();
    expect(refused).toMatchObject({ status: 409, body: { status: 409, detail: `task ${id} was changed after that; undo the later change first` } });
    b.tasks[0].completed = true;
    b.tasks[0].completed_at = JSON.parse(before)[0][0].completed_at;
    expect(JSON.stringify([b.tasks, b.events])).toBe(before);
  });

  it("nothing to undo, bad bodies, another user's turn, and the rate limit", async () => {
    expect((await undo()).body).toMatchObject({ status: 409, detail: "there is nothing to undo" });
    for (const body of [{ turn_id: "not-a-uuid" }, { turn: "x" }, []]) expect((await undo(body)).status).toBe(422);
    expect((await undo({ turn_id: "00000000-0000-4000-8000-000000000001" }, "bob")).status).toBe(404);
    await call("POST", "/api/tasks", { title: "x" });
    b.rateLimitNextUndo = 7;
    const limited = await undo();
    expect([limited.status, limited.headers.get("Retry-After")]).toEqual([429, "7"]);
    expect(b.tasks.length).toBe(1);
  });
});
