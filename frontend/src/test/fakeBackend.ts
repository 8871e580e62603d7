/**
 * An in-memory fake of the backend contract for unit tests: `/dev/token`, the REST task API and the ChatKit
 * protocol subset of docs/chatkit-protocol.md (SSE frames `data: <json>\n\n`, chunked at odd places, with
 * `: keep-alive` comments while a turn waits). It is a `fetch` replacement, so the real clients and the
 * real SSE parser run against it. Its ChatKit frames are checked against transcripts recorded from the
 * real server (fakeBackend.contract.test.ts), so it cannot drift from what the server sends.
 *
 * Turns follow the server's rules: one turn at a time per conversation (a second one gets a busy `error`
 * event and stores nothing); `Idempotency-Key` replays a finished turn, continues a failed one (tools that
 * ran are not run again) and answers a running one with a busy `error`; a key reused for another request
 * is a 422; `threads.retry_after_item` only for the newest user message (409 otherwise); the turn goes on
 * when the client's connection drops; `threads.get_by_id` reports `metadata.turn_status`.
 *
 * Confirmations (functions/chat/src/chatkit/mod.rs): "delete all completed tasks" asks first. Its reply
 * lists the set and is followed by a `structured_input` item (`confirm_<turn>`, one multiple-choice input
 * `confirm` with Yes and No), announced by `thread.item.added` and `.done` and stored right after the
 * reply. `threads.add_structured_input` answers it: a turn whose user message is the answer, its stream
 * led by `thread.item.replaced` with the item answered; Yes deletes exactly the listed set (a
 * `tasks_changed` effect), No changes nothing. An unknown item is a 404, a closed one a 409; any other
 * message in the conversation expires it (`skipped`).
 *
 * REST, as the server answers (checked against its OpenAPI document in fakeBackend.openapi.test.ts):
 * tasks with priority, list (by name; "Inbox" when on no other list) and tags; `GET /api/tasks` with
 * view (today includes overdue, upcoming is the 7 days after today, in the user's zone; `now` is the
 * fake's clock), status, q (word prefixes, accents ignored), list, tag, priority, due_before/after,
 * sort, order, limit and cursor; lists (the Inbox is id 0; names unique ignoring case; deleting one
 * moves its tasks to the Inbox); `/api/counts`; and `/api/parse` and `/api/due/parse` with a small
 * subset of the server's date parser (test/fakeDue.ts).
 *
 * History, trash and undo as the server keeps them (migration V10, shared/src/history.rs): every change
 * made through a route or by the chat records one event (its source: `ui` when the request says
 * `X-Smart-Todo-Client: web`, `rest` without it, a 400 for any other value; `chat` with the turn's id);
 * a change that changes nothing records none, and `addTask` (a seed) records none. `GET /api/activity`
 * pages them newest first with the server's summaries. `DELETE` moves a task to the trash for 30 days
 * (`GET /api/trash`, `POST /api/tasks/{id}/restore`, back with its number; to the Inbox when its list
 * went meanwhile). `POST /api/undo` reverses the newest change not undone yet (every event its request
 * or chat turn made), or a whole turn; it is a change too, so undoing again redoes it; a 409 says why
 * nothing was undone (a later change would be overwritten, nothing to undo), and changes nothing.
 */
import { INBOX, type Due, type Priority, type Task } from "../api/tasks";
import { SseParser } from "../chat/sse";
import { addDays, localDate, makeDue, nextAfter, parseDuePhrase, parseDueWords, parseRule } from "./fakeDue";

/** A task as stored: whose it is; `list` is the list's name; when a recurring task was last completed. */
type Stored = Task & { user: string; last_completed_at?: string | null };
type Source = "rest" | "ui" | "mcp" | "chat";
/** Who asked for a write, as history records it. */
type Origin = { source: Source; turn: string | null };
/** The fields history records and undo restores; the list by id (null: the Inbox), as the server stores it. */
type Fields = Record<string, unknown>;
/** One change, as stored (`task_events`). */
type EventRec = {
  id: number;
  user: string;
  task_id: number;
  kind: string;
  source: Source;
  turn_id: string | null;
  /** The request that made it: one undo reverses every event of the same request. */
  xact: number;
  undoes: number | null;
  undone_by: number | null;
  before: Fields | null;
  after: Fields | null;
  at: string;
};
/** A deleted task, with its number, and the id of its list (which may be deleted meanwhile). */
type Trashed = { task: Stored; list_id: number | null; deleted_at: string };
const TRASH_DAYS = 30;
const DAY_MS = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
type FieldError = { field: string; message: string };
const PRIORITIES = ["none", "low", "medium", "high"];

type Item = Record<string, unknown> & { id: string; thread_id: string; type: string; created_at: string };
type TurnStatus = "running" | "done" | "failed";
/** One turn: its user message, whether its tools ran, its reply once stored. */
type Run = {
  status: TurnStatus;
  /** The turn created its thread (a replay announces `thread.created` again). */
  created: boolean;
  threadId: string;
  userItem: Item;
  toolsDone: boolean;
  /** The chat turn's id, as history records it (`turn_id`). */
  turnId: string;
  task?: Task;
  reply?: Item;
  /** An answer to a question: the tasks it asked about, and whether it was yes. */
  confirm?: { ids: number[]; yes: boolean };
  /** What the turn's tools did, in words (the reply once they ran). */
  said?: string;
};
/** The set a question asked about, by the question's item id. */
type Asked = { itemId: string; ids: number[] };
type ThreadRec = { id: string; user: string; title?: string; created_at: string; items: Item[]; turn?: Run; asked?: Asked[] };
/** One step of a stream: an event (computed when reached), and/or an effect on the stored state. */
type Step = { event?: unknown | (() => unknown); effect?: () => void };

/** What one ChatKit request got back (`send`): the parsed events of a stream, or the JSON body. */
export type Exchange = { status: number; contentType: string; events?: unknown[]; body?: unknown };

export type Call = { url: string; method: string; headers: Headers; body: unknown };

const now = () => new Date().toISOString();

function json(status: number, body: unknown, type = "application/json"): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

const PROBLEM_TYPES: Record<number, string> = {
  400: "bad-request",
  401: "unauthorized",
  404: "not-found",
  405: "method-not-allowed",
  409: "conflict",
  422: "validation",
  429: "rate-limited",
};

function problem(status: number, title: string, detail: string, errors?: { field: string; message: string }[]) {
  const type = `https://smart-todo.dev/problems/${PROBLEM_TYPES[status] ?? "error"}`;
  return json(status, { type, title, status, detail, ...(errors ? { errors } : {}) }, "application/problem+json");
}

function invalid(errors: FieldError[]) {
  return problem(422, "Invalid request", errors.map((e) => `${e.field}: ${e.message}`).join("; "), errors);
}

/** Lower case without accents, as the server's search compares words. */
function fold(s: string) {
  return s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

/** Whether the runtime's tz database knows this IANA name (as the server's does). */
function isZone(name: string): boolean {
  try {
    return new Intl.DateTimeFormat("en", { timeZone: name }).resolvedOptions().timeZone === name;
  } catch {
    return false;
  }
}

/** JSON with object keys sorted: equal requests give equal strings whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

const STILL_ANSWERING = "The assistant is still answering this message. Try again in a moment.";
const ANOTHER_REPLY = "Another reply is still being written in this conversation. Try again when it has finished.";
const QUESTION_CLOSED = "this question is closed: it was answered or another message came after it; ask for the change again";
const NOT_NEWEST =
  "Only the newest message of a conversation can be answered again, and this conversation has moved on. Reload it to see the latest messages.";

export class FakeBackend {
  calls: Call[] = [];
  tasks: Stored[] = [];
  /** Every user's lists but the Inbox (id 0); ids are global, as the server's. */
  lists: { id: number; user: string; name: string }[] = [];
  private nextListId = 1;
  /** The fake's clock (views, due dates, timestamps); a test may pin it. */
  now: () => Date = () => new Date();
  private lastStamp = 0;
  threads: ThreadRec[] = [];
  /** Each user's newest task number: numbers are per user and never reused, as on the server. */
  private lastTaskNo = new Map<string, number>();
  /** Each user's time zone (`GET/PATCH /api/me`); UTC until set. */
  timezones = new Map<string, string>();
  private nextId = 1;
  /** Make the next turn request fail: at the network level before the server sees it (fetch rejects), or
   * with the model failing after its tools ran (an in-stream `error` event; the turn is `failed`). */
  failNext: "network" | "error-event" | null = null;
  /** Lose the next stream's connection after this many events (`error`: a network error; `close`: the
   * body just ends). The turn goes on and is stored, as on the real server. */
  dropNext: { afterEvents: number; how?: "error" | "close" } | null = null;
  /** When set, a stream pauses after its first text delta until this promise settles (the turn runs). */
  gate: Promise<void> | null = null;
  /** Chunk size for SSE bodies (frames are split across chunks on purpose). */
  chunkSize = 17;
  /** Idempotency keys per user: the request they were first used for and its turn. */
  private keys = new Map<string, { fingerprint: string; run: Run }>();
  /** Every user's history, oldest first; ids are global and increase, as the server's. */
  events: EventRec[] = [];
  private nextEventId = 1;
  private lastXact = 0;
  /** Deleted tasks, for {@link TRASH_DAYS} days. */
  trash: Trashed[] = [];
  /** Answer the next `POST /api/undo` with a 429 (Retry-After: this many seconds). */
  rateLimitNextUndo: number | null = null;

  readonly fetch: typeof fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.toString() : input.url;
    const method = (init?.method ?? "GET").toUpperCase();
    const headers = new Headers(init?.headers);
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    this.calls.push({ url, method, headers, body });
    const u = new URL(url, "http://localhost");
    if (u.pathname === "/dev/token") {
      const user = String(body?.user ?? "").trim();
      if (!user) return problem(422, "Invalid request", "user: must not be empty", [{ field: "user", message: "must not be empty" }]);
      return json(200, { token: fakeToken(user), token_type: "Bearer", expires_in: 43200 });
    }
    const user = userOf(headers);
    if (!user) return problem(401, "Unauthorized", "missing bearer token");
    // Writes say where they come from; the server reads the header on every write.
    const client = headers.get("X-Smart-Todo-Client");
    if (u.pathname.startsWith("/api/") && method !== "GET" && client !== null && client !== "web") {
      return problem(400, "Bad Request", "x-smart-todo-client may only be sent once, as 'web' (the web app)");
    }
    const origin: Origin = { source: client === "web" ? "ui" : "rest", turn: null };
    if (u.pathname === "/api/activity" && method === "GET") return this.activity(u, user);
    if (u.pathname === "/api/trash" && method === "GET") return this.trashPage(u, user);
    if (u.pathname === "/api/undo") return method === "POST" ? this.undo(body, user, origin) : problem(405, "Method Not Allowed", "POST");
    if (u.pathname.startsWith("/api/tasks")) return this.rest(u, method, body, user, origin);
    if (u.pathname.startsWith("/api/lists")) return this.listsRoute(u, method, body, user, origin);
    if (u.pathname === "/api/counts" && method === "GET") return this.counts(user);
    if (u.pathname === "/api/parse" && method === "GET") return this.quickParse(u.searchParams.get("text") ?? "", user);
    if (u.pathname === "/api/due/parse" && method === "GET") {
      const text = u.searchParams.get("text") ?? "";
      const due = parseDuePhrase(text, this.now(), this.zoneOf(user));
      return due ? json(200, due) : invalid([{ field: "text", message: `'${text}' is not a date I understand` }]);
    }
    if (u.pathname === "/api/me") return this.me(method, body, user);
    if (u.pathname === "/chatkit") return this.chatkit(body, user, headers.get("Idempotency-Key"), init?.signal ?? undefined);
    return problem(404, "Not Found", "no such route");
  };

  // ------------------------------------------------------------------ REST

  /**
   * A task as the server stores it: `list` is the list's name ("Inbox" when on no other list). Records
   * no history (a seed, as a write that does not say where it comes from on the server).
   */
  addTask(
    user: string,
    title: string,
    description: string | null = null,
    completed = false,
    extra: Partial<Pick<Task, "due" | "priority" | "tags" | "list">> = {},
  ): Task {
    const id = (this.lastTaskNo.get(user) ?? 0) + 1;
    this.lastTaskNo.set(user, id);
    const at = this.stamp();
    const t: Stored = {
      id,
      user,
      title,
      description,
      completed,
      created_at: at,
      updated_at: at,
      completed_at: completed ? at : null,
      due: extra.due ?? null,
      priority: extra.priority ?? "none",
      list: INBOX,
      tags: extra.tags ?? [],
    };
    if (extra.list) t.list = this.listFor(user, extra.list).name;
    this.tasks.push(t);
    return strip(t);
  }

  /** The user's list of that name (any case), created when new; the Inbox for "Inbox". */
  addList(user: string, name: string): { id: number; name: string } {
    return this.listFor(user, name);
  }

  private listFor(user: string, name: string): { id: number; name: string } {
    if (name.trim().toLowerCase() === INBOX.toLowerCase()) return { id: 0, name: INBOX };
    const found = this.lists.find((l) => l.user === user && l.name.toLowerCase() === name.trim().toLowerCase());
    if (found) return found;
    const list = { id: this.nextListId++, user, name: name.trim() };
    this.lists.push(list);
    return list;
  }

  /** The fake's clock: `now` (a test may pin it), in ms steps so that timestamps order as they were made. */
  private stamp() {
    const t = Math.max(this.now().getTime(), this.lastStamp + 1);
    this.lastStamp = t;
    return new Date(t).toISOString();
  }

  private zoneOf(user: string) {
    return this.timezones.get(user) ?? "UTC";
  }

  /** A Due for `user` as the server builds one: `in` days from today (0 = today), at `time`, repeating by `rule`. */
  due(user: string, days: number, time: string | null = null, rule: string | null = null): Due {
    const zone = this.zoneOf(user);
    return makeDue(addDays(localDate(this.now(), zone), days), time, zone, rule, this.now());
  }

  private me(method: string, body: Record<string, unknown> | undefined, user: string): Response {
    if (method === "PATCH") {
      const zone = body?.timezone;
      if (typeof zone !== "string" || !isZone(zone)) {
        const message = `'${String(zone)}' is not an IANA time zone such as 'Europe/Berlin', 'America/New_York' or 'UTC'`;
        return problem(422, "Invalid request", `timezone: ${message}`, [{ field: "timezone", message }]);
      }
      this.timezones.set(user, zone);
    } else if (method !== "GET") {
      return problem(405, "Method Not Allowed", "GET or PATCH");
    }
    return json(200, { user_id: user, timezone: this.zoneOf(user) });
  }

  /** Which view a pending task is in, in the user's zone: today includes overdue; upcoming is the 7 days after today. */
  private inView(view: string, t: Stored, user: string): boolean {
    if (view === "all") return true;
    if (view === "no_date") return !t.due;
    if (!t.due) return false;
    const today = localDate(this.now(), this.zoneOf(user));
    if (view === "today") return t.due.date <= today;
    if (view === "overdue") return t.due.at ? new Date(t.due.at) < this.now() : t.due.date < today;
    return t.due.date > today && t.due.date <= addDays(today, 7);
  }

  private listTasks(u: URL, user: string): Response {
    const p = u.searchParams;
    const errors: FieldError[] = [];
    const pick = (field: string, allowed: string[], fallback: string) => {
      const v = (p.get(field) ?? fallback).toLowerCase();
      if (!allowed.includes(v)) errors.push({ field, message: `must be ${allowed.join(", ")}` });
      return v;
    };
    const view = pick("view", ["today", "overdue", "upcoming", "no_date", "all"], "all");
    const status = pick("status", ["all", "pending", "completed"], view === "all" ? "all" : "pending");
    const q = (p.get("q") ?? "").trim();
    const sort = pick("sort", ["due", "priority", "created", "updated", "title", "relevance"], q ? "relevance" : ["today", "overdue", "upcoming"].includes(view) ? "due" : "created");
    const priority = p.get("priority") === null ? null : pick("priority", PRIORITIES, "none");
    const limit = Number(p.get("limit") ?? "50");
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) errors.push({ field: "limit", message: "must be 1 to 100" });
    const dated = (field: string) => {
      const v = p.get(field);
      if (v !== null && !/^\d{4}-\d{2}-\d{2}$/.test(v)) errors.push({ field, message: "must be a date YYYY-MM-DD" });
      return v;
    };
    const before = dated("due_before");
    const after = dated("due_after");
    if (sort === "relevance" && !q) errors.push({ field: "sort", message: "relevance needs q" });
    const defaultOrder = ["priority", "updated", "relevance"].includes(sort) ? "desc" : "asc";
    const order = pick("order", ["asc", "desc"], defaultOrder);
    if (errors.length) return problem(422, "Invalid request", errors.map((e) => `${e.field}: ${e.message}`).join("; "), errors);

    const words = q ? fold(q).split(/[^\p{L}\p{N}]+/u).filter(Boolean) : [];
    const score = (t: Stored) => {
      const title = fold(t.title).split(/[^\p{L}\p{N}]+/u);
      const desc = fold(t.description ?? "").split(/[^\p{L}\p{N}]+/u);
      let s = 0;
      for (const w of words) {
        const inTitle = title.some((x) => x.startsWith(w));
        const inDesc = desc.some((x) => x.startsWith(w));
        if (!inTitle && !inDesc) return -1;
        s += (inTitle ? 2 : 0) + (inDesc ? 1 : 0);
      }
      return s;
    };
    const list = p.get("list");
    const tag = p.get("tag")?.replace(/^#/, "").toLowerCase();
    let rows = this.tasks.filter(
      (t) =>
        t.user === user &&
        (status === "all" || (status === "completed") === t.completed) &&
        this.inView(view, t, user) &&
        (list === null || t.list.toLowerCase() === list.trim().toLowerCase()) &&
        (!tag || t.tags.includes(tag)) &&
        (priority === null || t.priority === priority) &&
        (before === null || (!!t.due && t.due.date < before)) &&
        (after === null || (!!t.due && t.due.date > after)) &&
        (!words.length || score(t) >= 0),
    );
    const key = (t: Stored): (string | number)[] => {
      switch (sort) {
        case "due":
          return t.due ? [0, t.due.at ?? `${t.due.date}T99`] : [1, ""];
        case "priority":
          return [PRIORITIES.indexOf(t.priority)];
        case "updated":
          return [t.updated_at];
        case "title":
          return [t.title.toLowerCase()];
        case "relevance":
          return [score(t)];
        default:
          return [t.id];
      }
    };
    const cmp = (a: (string | number)[], b: (string | number)[]) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
      return 0;
    };
    rows = rows.slice().sort((a, b) => {
      // Tasks without a date stay last whatever the order.
      if (sort === "due" && !!a.due !== !!b.due) return a.due ? -1 : 1;
      return (order === "desc" ? -1 : 1) * cmp(key(a), key(b)) || a.id - b.id;
    });
    const offset = Number(p.get("cursor") ?? "0") || 0;
    const page = rows.slice(offset, offset + limit);
    const more = rows.length > offset + limit;
    return json(200, { tasks: page.map(strip), next_cursor: more ? String(offset + limit) : null });
  }

  /** Reads the organising fields of a POST or PATCH body onto `draft`; field errors go to `errors`. */
  private applyFields(draft: Stored, body: Record<string, unknown>, user: string, patch: boolean, errors: FieldError[]) {
    const known = ["title", "description", "completed", "due", "priority", "list", "tags"];
    for (const k of Object.keys(body)) if (!known.includes(k)) errors.push({ field: k, message: "unknown field" });
    if ("title" in body || !patch) {
      const title = typeof body.title === "string" ? body.title.trim() : "";
      if (!title) errors.push({ field: "title", message: "Title must not be empty." });
      else if (title.length > 200) errors.push({ field: "title", message: "Title has at most 200 characters." });
      else draft.title = title;
    }
    if ("description" in body) draft.description = typeof body.description === "string" && body.description.trim() ? body.description : null;
    if ("completed" in body) {
      draft.completed = !!body.completed;
      draft.completed_at = draft.completed ? (draft.completed_at ?? this.stamp()) : null;
    }
    if ("priority" in body) {
      const v = body.priority ?? "none";
      if (typeof v === "string" && PRIORITIES.includes(v.toLowerCase())) draft.priority = v.toLowerCase() as Priority;
      else errors.push({ field: "priority", message: "must be none, low, medium or high" });
    }
    if ("tags" in body) {
      const v = body.tags ?? [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) errors.push({ field: "tags", message: "must be an array of strings" });
      else {
        const tags: string[] = [];
        for (const raw of v as string[]) {
          const tag = raw.trim().replace(/^#/, "").toLowerCase();
          if (!tag) errors.push({ field: "tags", message: "a tag is empty" });
          else if (tag.length > 32) errors.push({ field: "tags", message: `the tag '${tag}' has ${tag.length} characters; at most 32 are allowed` });
          else if (/[\s,#]/.test(tag)) errors.push({ field: "tags", message: `the tag '${tag}' contains a space, comma, '#' or control character` });
          else if (!tags.includes(tag)) tags.push(tag);
        }
        if (tags.length > 10) errors.push({ field: "tags", message: `${tags.length} tags given; a task has at most 10` });
        draft.tags = tags;
      }
    }
    if ("list" in body) {
      const v = body.list ?? INBOX;
      if (typeof v !== "string" || !v.trim() || v.trim().length > 50) errors.push({ field: "list", message: "the list name must be 1 to 50 characters" });
      else draft.list = v; // resolved (and created) once the body is valid
    }
    if ("due" in body) {
      const v = body.due;
      const zone = this.zoneOf(user);
      const keep = patch ? (draft.due?.recurrence?.rule ?? null) : null;
      if (v === null || (typeof v === "string" && !v.trim())) draft.due = null;
      else if (typeof v === "string") {
        const due = parseDuePhrase(v, this.now(), zone);
        if (!due) errors.push({ field: "due", message: `'${v}' is not a date I understand; try 'tomorrow 5pm' or 'every monday at 9'` });
        else draft.due = due.recurrence || !keep ? due : makeDue(due.date, due.time, due.timezone, keep, this.now());
      } else if (typeof v === "object" && !Array.isArray(v)) {
        const o = v as { date?: unknown; time?: unknown; timezone?: unknown; recurrence?: { rule?: unknown } | null };
        const rule = o.recurrence === undefined ? keep : o.recurrence === null ? null : String(o.recurrence.rule ?? "");
        if (typeof o.date !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(o.date)) errors.push({ field: "due", message: "date must be YYYY-MM-DD" });
        else if (o.time != null && (typeof o.time !== "string" || !/^([01]\d|2[0-3]):[0-5]\d$/.test(o.time))) errors.push({ field: "due", message: "time must be HH:MM" });
        else if (rule !== null && !parseRule(rule)) errors.push({ field: "due", message: `the recurrence rule '${rule}' is not supported` });
        else draft.due = makeDue(o.date, (o.time as string | null | undefined) ?? null, typeof o.timezone === "string" ? o.timezone : zone, rule, this.now());
      } else errors.push({ field: "due", message: "must be a phrase, an object or null" });
    }
  }

  private rest(u: URL, method: string, body: Record<string, unknown> | undefined, user: string, origin: Origin): Response {
    const parts = u.pathname.split("/").filter(Boolean); // api, tasks, {id}, {action}
    const mine = this.tasks.filter((t) => t.user === user);
    if (parts.length === 2) {
      if (method === "GET") return this.listTasks(u, user);
      if (method === "POST") {
        const draft = this.blank(user);
        const errors: FieldError[] = [];
        this.applyFields(draft, body ?? {}, user, false, errors);
        if (errors.length) return invalid(errors);
        const task = this.addTask(user, draft.title, draft.description, false, { due: draft.due, priority: draft.priority, tags: draft.tags, list: draft.list });
        this.recordCreated(user, task.id, origin, this.xact());
        return json(201, task);
      }
      return problem(405, "Method Not Allowed", "GET or POST");
    }
    if (parts[3] === "restore") {
      if (method !== "POST") return problem(405, "Method Not Allowed", "POST");
      const id = /^\d+$/.test(parts[2]) ? Number(parts[2]) : NaN;
      const entry = this.binned(user).find((b) => b.task.id === id);
      if (!entry) return problem(404, "Not Found", `task ${parts[2]} is not in the trash (deleted tasks stay there ${TRASH_DAYS} days)`);
      return json(200, strip(this.unbin(entry, origin, this.xact(), null)));
    }
    const task = mine.find((t) => t.id === Number(parts[2]));
    if (!task) return problem(404, "Not Found", "No task with that id.");
    const was = this.fieldsOf(task);
    if (parts[3] === "complete" && task.due?.recurrence) {
      // As the server: a recurring task stays pending and moves on, once per occurrence sent.
      const occurrence = u.searchParams.get("occurrence");
      if (!occurrence || occurrence === task.due.date) {
        const today = localDate(this.now(), task.due.timezone);
        let date = nextAfter(task.due.recurrence.rule, task.due.date);
        while (date <= today) date = nextAfter(task.due.recurrence.rule, date);
        task.due = makeDue(date, task.due.time, task.due.timezone, task.due.recurrence.rule, this.now());
        task.updated_at = this.stamp();
        task.last_completed_at = task.updated_at;
        this.recordWrite(task, was, origin, this.xact());
      }
      return json(200, strip(task));
    }
    if (parts[3] === "complete" || parts[3] === "reopen") {
      task.completed = parts[3] === "complete";
      task.completed_at = task.completed ? (task.completed_at ?? this.stamp()) : null;
      task.updated_at = this.stamp();
      this.recordWrite(task, was, origin, this.xact());
      return json(200, strip(task));
    }
    if (method === "GET") return json(200, strip(task));
    if (method === "PATCH") {
      if (!body || Object.keys(body).length === 0) return invalid([{ field: "body", message: "nothing to change" }]);
      const draft: Stored = { ...task, tags: [...task.tags] };
      const errors: FieldError[] = [];
      this.applyFields(draft, body, user, true, errors);
      if (errors.length) return invalid(errors);
      Object.assign(task, draft, { list: this.listFor(user, draft.list).name, updated_at: this.stamp() });
      this.recordWrite(task, was, origin, this.xact());
      return json(200, strip(task));
    }
    if (method === "DELETE") {
      this.bin(task, origin, this.xact(), null);
      return new Response(null, { status: 204 });
    }
    return problem(405, "Method Not Allowed", "");
  }

  private blank(user: string): Stored {
    return { id: 0, user, title: "", description: null, completed: false, created_at: "", updated_at: "", completed_at: null, due: null, priority: "none", list: INBOX, tags: [] };
  }

  private listsRoute(u: URL, method: string, body: Record<string, unknown> | undefined, user: string, origin: Origin): Response {
    const parts = u.pathname.split("/").filter(Boolean); // api, lists, {id}
    const json1 = (l: { id: number; name: string }) => {
      const on = this.tasks.filter((t) => t.user === user && t.list.toLowerCase() === l.name.toLowerCase());
      return { id: l.id, name: l.name, pending: on.filter((t) => !t.completed).length, total: on.length };
    };
    const nameOf = (): string | FieldError[] => {
      const v = body?.name;
      if (typeof v !== "string" || !v.trim()) return [{ field: "name", message: "the list name is empty" }];
      if (v.trim().length > 50) return [{ field: "name", message: "the list name has at most 50 characters" }];
      return v.trim();
    };
    const conflict = (name: string) =>
      name.toLowerCase() === INBOX.toLowerCase()
        ? `every user has the list '${INBOX}'; choose another name`
        : `you have a list named '${this.lists.find((l) => l.user === user && l.name.toLowerCase() === name.toLowerCase())?.name ?? name}' already`;
    const taken = (name: string, except?: number) =>
      name.toLowerCase() === INBOX.toLowerCase() || this.lists.some((l) => l.user === user && l.id !== except && l.name.toLowerCase() === name.toLowerCase());
    const mine = this.lists.filter((l) => l.user === user);
    if (parts.length === 2) {
      if (method === "GET") {
        const sorted = mine.slice().sort((a, b) => a.name.localeCompare(b.name, "en", { sensitivity: "base" }));
        return json(200, { lists: [{ id: 0, name: INBOX }, ...sorted].map(json1) });
      }
      if (method === "POST") {
        const name = nameOf();
        if (typeof name !== "string") return invalid(name);
        if (taken(name)) return problem(409, "Conflict", conflict(name));
        return json(201, json1(this.listFor(user, name)));
      }
      return problem(405, "Method Not Allowed", "GET or POST");
    }
    const id = Number(parts[2]);
    if (id === 0 && method === "PATCH") return problem(409, "Conflict", "the Inbox cannot be renamed");
    if (id === 0 && method === "DELETE") return problem(409, "Conflict", "the Inbox cannot be deleted; its tasks are the ones on no other list");
    const list = mine.find((l) => l.id === id);
    if (!list) return problem(404, "Not Found", "No list with that id.");
    if (method === "PATCH") {
      const name = nameOf();
      if (typeof name !== "string") return invalid(name);
      if (taken(name, id)) return problem(409, "Conflict", conflict(name));
      for (const t of this.tasks) if (t.user === user && t.list === list.name) t.list = name;
      list.name = name;
      return json(200, json1(list));
    }
    if (method === "DELETE") {
      // Its tasks go to the Inbox, each move recorded, all in the one request (one undo).
      const xact = this.xact();
      for (const t of this.tasks.filter((x) => x.user === user && x.list === list.name).sort((a, b) => a.id - b.id)) {
        const was = this.fieldsOf(t);
        t.list = INBOX;
        t.updated_at = this.stamp();
        this.recordWrite(t, was, origin, xact);
      }
      this.lists = this.lists.filter((l) => l !== list);
      return new Response(null, { status: 204 });
    }
    return problem(405, "Method Not Allowed", "PATCH or DELETE");
  }

  private counts(user: string): Response {
    const pending = this.tasks.filter((t) => t.user === user && !t.completed);
    const n = (view: string) => pending.filter((t) => this.inView(view, t, user)).length;
    return json(200, {
      today: n("today"),
      overdue: n("overdue"),
      upcoming: n("upcoming"),
      no_date: n("no_date"),
      pending: pending.length,
      completed: this.tasks.filter((t) => t.user === user && t.completed).length,
    });
  }

  // ------------------------------------------------------------------ History, trash and undo

  /** A new request's number: the events one request makes share it, and one undo reverses them all. */
  private xact() {
    return ++this.lastXact;
  }

  private newTurnId() {
    return `00000000-0000-4000-8000-${(this.nextId++).toString(16).padStart(12, "0")}`;
  }

  /** The id of the user's list of that name; null for the Inbox. */
  private listIdOf(user: string, name: string): number | null {
    if (name.toLowerCase() === INBOX.toLowerCase()) return null;
    return this.lists.find((l) => l.user === user && l.name.toLowerCase() === name.toLowerCase())?.id ?? null;
  }

  private listById(user: string, id: unknown) {
    return typeof id === "number" ? this.lists.find((l) => l.user === user && l.id === id) : undefined;
  }

  /** The fields of a task that history records (the list by id), as the server's `smart_todo_fields`. */
  private fieldsOf(t: Stored): Fields {
    return {
      title: t.title,
      description: t.description,
      completed: t.completed,
      completed_at: t.completed_at,
      due: t.due,
      priority: t.priority,
      tags: [...t.tags],
      list_id: this.listIdOf(t.user, t.list),
      last_completed_at: t.last_completed_at ?? null,
    };
  }

  private record(user: string, taskId: number, kind: string, origin: Origin, xact: number, before: Fields | null, after: Fields | null, undoes: number | null) {
    const event: EventRec = {
      id: this.nextEventId++,
      user,
      task_id: taskId,
      kind,
      source: origin.source,
      turn_id: origin.turn,
      xact,
      undoes,
      undone_by: null,
      before,
      after,
      at: this.stamp(),
    };
    this.events.push(event);
    if (undoes !== null) {
      const undone = this.events.find((e) => e.user === user && e.id === undoes);
      if (undone) undone.undone_by = event.id;
    }
  }

  /** A new task (or one back from the trash): every field is in `after`. */
  private recordCreated(user: string, taskId: number, origin: Origin, xact: number, restored = false, undoes: number | null = null) {
    const task = this.tasks.find((t) => t.user === user && t.id === taskId)!;
    this.record(user, taskId, restored ? "restored" : "created", origin, xact, null, this.fieldsOf(task), undoes);
  }

  /** A change of `task` from `was`: only the fields it changed, and none at all when it changed nothing. */
  private recordWrite(task: Stored, was: Fields, origin: Origin, xact: number, undoes: number | null = null) {
    const now = this.fieldsOf(task);
    const before: Fields = {};
    const after: Fields = {};
    for (const k of Object.keys(now)) {
      if (canonical(now[k]) !== canonical(was[k])) {
        before[k] = was[k];
        after[k] = now[k];
      }
    }
    const keys = Object.keys(after);
    if (keys.length === 0) return;
    const last = (v: unknown) => (typeof v === "string" ? Date.parse(v) : -Infinity);
    const kind =
      "completed" in after
        ? task.completed
          ? "completed"
          : "reopened"
        : "last_completed_at" in after && after.last_completed_at !== null && last(after.last_completed_at) > last(before.last_completed_at)
          ? "completed"
          : keys.length === 1 && keys[0] === "list_id"
            ? "moved"
            : "updated";
    this.record(task.user, task.id, kind, origin, xact, before, after, undoes);
  }

  /** Moves a task to the trash (and sweeps the user's tasks deleted more than 30 days ago). */
  private bin(task: Stored, origin: Origin, xact: number, undoes: number | null) {
    const fields = this.fieldsOf(task);
    const cutoff = this.now().getTime() - TRASH_DAYS * DAY_MS;
    this.trash = this.trash.filter((b) => b.task.user !== task.user || Date.parse(b.deleted_at) > cutoff);
    this.tasks = this.tasks.filter((t) => t !== task);
    const deleted_at = this.stamp();
    this.trash.push({ task: { ...task, tags: [...task.tags], updated_at: deleted_at }, list_id: fields.list_id as number | null, deleted_at });
    this.record(task.user, task.id, "deleted", origin, xact, fields, null, undoes);
  }

  /** The user's trash, most recently deleted first, without what was deleted more than 30 days ago. */
  private binned(user: string): Trashed[] {
    const cutoff = this.now().getTime() - TRASH_DAYS * DAY_MS;
    return this.trash
      .filter((b) => b.task.user === user && Date.parse(b.deleted_at) > cutoff)
      .sort((a, b) => (a.deleted_at === b.deleted_at ? b.task.id - a.task.id : a.deleted_at < b.deleted_at ? 1 : -1));
  }

  /** The task as the trash shows it: on its list, or in the Inbox when the list is gone. */
  private trashedTask(b: Trashed): Stored {
    return { ...b.task, list: this.listById(b.task.user, b.list_id)?.name ?? INBOX };
  }

  /** Brings a task back from the trash with its number. */
  private unbin(entry: Trashed, origin: Origin, xact: number, undoes: number | null): Stored {
    this.trash = this.trash.filter((b) => b !== entry);
    const task: Stored = { ...this.trashedTask(entry), updated_at: this.stamp() };
    this.tasks.push(task);
    this.recordCreated(task.user, task.id, origin, xact, true, undoes);
    return task;
  }

  /** Stored fields as the API names them: the list by name ("a deleted list" when it is gone). */
  private apiFields(user: string, fields: Fields | null): Fields | null {
    if (!fields) return null;
    const out: Fields = {};
    for (const [k, v] of Object.entries(fields)) {
      if (k === "list_id") out.list = v === null ? INBOX : (this.listById(user, v)?.name ?? "a deleted list");
      else out[k] = v;
    }
    return out;
  }

  /** An event as `GET /api/activity` shows it. */
  private showEvent(e: EventRec) {
    const before = this.apiFields(e.user, e.before);
    const after = this.apiFields(e.user, e.after);
    const titleNow =
      this.tasks.find((t) => t.user === e.user && t.id === e.task_id)?.title ?? this.trash.find((b) => b.task.user === e.user && b.task.id === e.task_id)?.task.title;
    const title = textOf(after ?? {}, "title") ?? textOf(before ?? {}, "title") ?? titleNow ?? "";
    return {
      id: e.id,
      task_id: e.task_id,
      kind: e.kind,
      source: e.source,
      turn_id: e.turn_id,
      before,
      after,
      at: e.at,
      undoes: e.undoes,
      undone: e.undone_by !== null,
      title,
      summary: summarise(e.kind, title, before, after, e.undoes),
    };
  }

  /** Query parameters outside `allowed` are a 400, as the server's. */
  private unknownParams(u: URL, allowed: string[]): Response | null {
    const bad = [...u.searchParams.keys()].find((k) => !allowed.includes(k));
    return bad ? problem(400, "Bad Request", `unknown query parameter '${bad}'`) : null;
  }

  private pageLimit(u: URL, errors: FieldError[]): number {
    const raw = u.searchParams.get("limit");
    const limit = raw === null ? 50 : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) errors.push({ field: "limit", message: "must be 1 to 100" });
    return limit;
  }

  /** `GET /api/activity?task_id&limit&cursor`: the user's events, newest first. */
  private activity(u: URL, user: string): Response {
    const unknown = this.unknownParams(u, ["task_id", "limit", "cursor"]);
    if (unknown) return unknown;
    const errors: FieldError[] = [];
    const limit = this.pageLimit(u, errors);
    const positive = (field: string, message: string) => {
      const raw = u.searchParams.get(field);
      if (raw === null) return null;
      if (!/^\d+$/.test(raw) || Number(raw) < 1) errors.push({ field, message });
      return Number(raw);
    };
    const taskId = positive("task_id", "must be a task number");
    const cursor = positive("cursor", "must be the next_cursor of a page");
    if (errors.length) return invalid(errors);
    const rows = this.events
      .filter((e) => e.user === user && (taskId === null || e.task_id === taskId) && (cursor === null || e.id < cursor))
      .sort((a, b) => b.id - a.id);
    const page = rows.slice(0, limit);
    const more = rows.length > limit;
    return json(200, { events: page.map((e) => this.showEvent(e)), next_cursor: more ? String(page[page.length - 1].id) : null });
  }

  /** `GET /api/trash?limit&cursor`: deleted tasks, most recently deleted first. */
  private trashPage(u: URL, user: string): Response {
    const unknown = this.unknownParams(u, ["limit", "cursor"]);
    if (unknown) return unknown;
    const errors: FieldError[] = [];
    const limit = this.pageLimit(u, errors);
    const raw = u.searchParams.get("cursor");
    const m = raw === null ? null : /^(\d+)\.(\d+)$/.exec(raw);
    if (raw !== null && !m) errors.push({ field: "cursor", message: "must be the next_cursor of a page" });
    if (errors.length) return invalid(errors);
    let rows = this.binned(user);
    if (m) {
      const [at, id] = [Number(m[1]), Number(m[2])];
      rows = rows.filter((b) => Date.parse(b.deleted_at) < at || (Date.parse(b.deleted_at) === at && b.task.id < id));
    }
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const next = rows.length > limit ? `${Date.parse(last.deleted_at)}.${last.task.id}` : null;
    return json(200, { tasks: page.map((b) => strip(this.trashedTask(b))), next_cursor: next });
  }

  /**
   * `POST /api/undo`: reverses the user's newest change not undone yet (every event of its request, or
   * of its chat turn), or all that the chat turn `turn_id` changed, newest first, as one change (the
   * server's `smart_todo_undo`). Refused, changing nothing, when a later change would be overwritten.
   */
  private undo(body: unknown, user: string, origin: Origin): Response {
    if (this.rateLimitNextUndo !== null) {
      const wait = this.rateLimitNextUndo;
      this.rateLimitNextUndo = null;
      const res = problem(429, "Too Many Requests", `too many changes in a minute; try again in ${wait} s`);
      res.headers.set("Retry-After", String(wait));
      return res;
    }
    if (body !== undefined && body !== null && (typeof body !== "object" || Array.isArray(body))) {
      return invalid([{ field: "body", message: "must be an object {turn_id}" }]);
    }
    const b = (body ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(b)) if (k !== "turn_id") return invalid([{ field: k, message: "unknown field" }]);
    const turn = b.turn_id ?? null;
    if (turn !== null && (typeof turn !== "string" || !UUID.test(turn))) return invalid([{ field: "turn_id", message: "must be a UUID" }]);
    const mine = this.events.filter((e) => e.user === user);
    let group: EventRec[];
    if (turn === null) {
      const latest = mine.filter((e) => e.undone_by === null).sort((x, y) => y.id - x.id)[0];
      if (!latest) return problem(409, "Conflict", "there is nothing to undo");
      group = mine.filter((e) => e.undone_by === null && (latest.turn_id !== null ? e.turn_id === latest.turn_id : e.turn_id === null && e.xact === latest.xact));
    } else {
      if (!mine.some((e) => e.turn_id === turn)) return problem(404, "Not Found", "no task was changed in that turn");
      group = mine.filter((e) => e.undone_by === null && e.turn_id === turn);
    }
    group.sort((x, y) => y.id - x.id);
    if (group.length === 0) return problem(409, "Conflict", "everything that changed has been undone already");

    // All or nothing: what the loop changed is put back when one step is refused.
    const saved = {
      tasks: this.tasks.slice(),
      copies: this.tasks.map((t) => ({ ...t, tags: [...t.tags] })),
      trash: this.trash.slice(),
      events: this.events.slice(),
      undoneBy: this.events.map((e) => e.undone_by),
      nextEventId: this.nextEventId,
    };
    const xact = this.xact();
    const by: Origin = { source: origin.source, turn: null };
    const unchanged = (t: Stored, written: Fields | null) => {
      const now = this.fieldsOf(t);
      return Object.entries(written ?? {}).every(([k, v]) => canonical(now[k]) === canonical(v));
    };
    let reason: string | null = null;
    for (const e of group) {
      const task = this.tasks.find((t) => t.user === user && t.id === e.task_id);
      if (e.kind === "created" || e.kind === "restored") {
        if (task && unchanged(task, e.after)) {
          this.bin(task, by, xact, e.id);
          continue;
        }
      } else if (e.kind === "deleted") {
        const entry = this.trash.find((x) => x.task.user === user && x.task.id === e.task_id);
        if (!entry) {
          reason = `task ${e.task_id} is no longer in the trash`;
          break;
        }
        this.unbin(entry, by, xact, e.id);
        continue;
      } else if (task && unchanged(task, e.after)) {
        const was = this.fieldsOf(task);
        for (const [k, v] of Object.entries(e.before ?? {})) {
          if (k === "list_id") task.list = this.listById(user, v)?.name ?? INBOX;
          else (task as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
        }
        task.updated_at = this.stamp();
        this.recordWrite(task, was, by, xact, e.id);
        // As the server: a reversal that changed nothing (a move back to a list deleted since)
        // still counts as undone.
        if (e.undone_by === null) e.undone_by = e.id;
        continue;
      }
      reason = this.tasks.some((t) => t.user === user && t.id === e.task_id)
        ? `task ${e.task_id} was changed after that; undo the later change first`
        : `task ${e.task_id} was deleted after that; restore it first`;
      break;
    }
    if (reason !== null) {
      saved.tasks.forEach((t, i) => Object.assign(t, saved.copies[i]));
      this.tasks = saved.tasks;
      this.trash = saved.trash;
      this.events = saved.events;
      this.events.forEach((e, i) => (e.undone_by = saved.undoneBy[i]));
      this.nextEventId = saved.nextEventId;
      return problem(409, "Conflict", reason);
    }
    return json(200, { undone: group.map((e) => this.showEvent(e)) });
  }

  /** `GET /api/parse`: the quick-add syntax (#tag, !high or !1–!3, ~list or ~"two words", a trailing date phrase). */
  private quickParse(text: string, user: string): Response {
    const zone = this.zoneOf(user);
    const tokens = text.match(/~"[^"]*"|\S+/g) ?? [];
    const chips: { kind: string; text: string; label: string }[] = [];
    const tags: string[] = [];
    let priority: string | null = null;
    let list: string | null = null;
    const rest: string[] = [];
    const LEVELS: Record<string, string> = { high: "high", medium: "medium", low: "low", "1": "high", "2": "medium", "3": "low" };
    for (const tok of tokens) {
      const level = /^!(\w+)$/.exec(tok)?.[1].toLowerCase();
      if (/^#[^\s#,]+$/.test(tok) && !/^#\d+$/.test(tok)) {
        const tag = tok.slice(1).toLowerCase();
        if (!tags.includes(tag)) tags.push(tag);
        chips.push({ kind: "tag", text: tok, label: tag });
      } else if (level && LEVELS[level]) {
        priority = LEVELS[level];
        chips.push({ kind: "priority", text: tok, label: priority });
      } else if (/^~("[^"]+"|\S+)$/.test(tok)) {
        list = this.lists.find((l) => l.user === user && l.name.toLowerCase() === tok.slice(1).replace(/"/g, "").toLowerCase())?.name ?? tok.slice(1).replace(/"/g, "");
        if (list.toLowerCase() === INBOX.toLowerCase()) list = INBOX;
        chips.push({ kind: "list", text: tok, label: list });
      } else rest.push(tok);
    }
    let due: Due | null = null;
    const example = "type what the task is, e.g. 'Buy milk tomorrow 5pm #errands !high'";
    const whole = rest.length ? parseDueWords(rest.map((w) => w.toLowerCase()), this.now(), zone) : null;
    if (whole) return invalid([{ field: "text", message: `nothing is left for the title once the date '${rest.join(" ")}' is taken out; ${example}` }]);
    for (let start = 1; start < rest.length && !due; start++) {
      const words = rest.slice(start);
      const found = parseDueWords(words.map((w) => w.toLowerCase()), this.now(), zone);
      if (found) {
        due = found;
        chips.unshift({ kind: "due", text: words.join(" "), label: found.text });
        rest.length = start;
      }
    }
    const title = rest.join(" ").trim();
    if (!title) return invalid([{ field: "text", message: `nothing is left for the title once the markers are taken out; ${example}` }]);
    return json(200, { title, due, priority, tags, list, chips });
  }

  // ------------------------------------------------------------------ ChatKit

  /**
   * A thread with question/answer pairs. `unanswered` adds a last user message without a reply, and
   * `status` sets its newest turn's state (default: `failed` with an unanswered message, else `done`).
   */
  addThread(
    user: string,
    title: string | undefined,
    texts: [string, string][],
    opts: { unanswered?: string; status?: TurnStatus } = {},
  ): string {
    const id = `thr_${this.nextId++}`;
    const items: Item[] = [];
    let last: Run | undefined;
    for (const [q, a] of texts) {
      const userItem = this.userItem(id, q);
      const reply = this.assistantItem(id, a);
      items.push(userItem, reply);
      last = { status: "done", created: false, threadId: id, userItem, toolsDone: true, turnId: this.newTurnId(), reply };
    }
    if (opts.unanswered !== undefined) {
      const userItem = this.userItem(id, opts.unanswered);
      items.push(userItem);
      last = { status: opts.status ?? "failed", created: false, threadId: id, userItem, toolsDone: true, turnId: this.newTurnId() };
    } else if (last && opts.status) {
      last.status = opts.status;
    }
    this.threads.push({ id, user, title, created_at: now(), items, turn: last });
    return id;
  }

  /** Sends one ChatKit request as `user` (another tab, a script) and reads the whole answer. */
  async send(user: string, type: string, params: Record<string, unknown>, key?: string): Promise<Exchange> {
    const headers = new Headers({ "Content-Type": "application/json", Authorization: `Bearer ${fakeToken(user)}` });
    if (key !== undefined) headers.set("Idempotency-Key", key);
    const res = await this.fetch("/chatkit", { method: "POST", headers, body: JSON.stringify({ type, params }) });
    const contentType = (res.headers.get("Content-Type") ?? "").split(";")[0];
    const text = await res.text();
    if (contentType === "text/event-stream") {
      const events = new SseParser().push(text).map((d) => JSON.parse(d) as unknown);
      return { status: res.status, contentType, events };
    }
    return { status: res.status, contentType, body: text ? (JSON.parse(text) as unknown) : undefined };
  }

  private userItem(threadId: string, text: string): Item {
    return {
      id: `msg_${this.nextId++}`,
      thread_id: threadId,
      created_at: now(),
      type: "user_message",
      content: [{ type: "input_text", text }],
      attachments: [],
      inference_options: {},
    };
  }

  private assistantItem(threadId: string, text: string): Item {
    return {
      id: `msg_${this.nextId++}`,
      thread_id: threadId,
      created_at: now(),
      type: "assistant_message",
      content: [{ type: "output_text", text, annotations: [] }],
    };
  }

  /** The question a turn asks before a change to several tasks: Yes or No. */
  private questionItem(threadId: string, turnId: string, question: string): Item {
    return {
      type: "structured_input",
      id: `confirm_${turnId}`,
      thread_id: threadId,
      created_at: now(),
      status: "pending",
      inputs: [{ type: "multiple_choice", id: "confirm", question, options: [{ value: "Yes" }, { value: "No" }], multiple: false, answer: null }],
    };
  }

  /** A Thread. `turn_status` only where the server reports it (threads.get_by_id, threads.update). */
  private threadJson(t: ThreadRec, items: Item[] = [], withStatus = false) {
    return {
      id: t.id,
      ...(t.title ? { title: t.title } : {}),
      created_at: t.created_at,
      status: { type: "active" },
      metadata: withStatus && t.turn ? { turn_status: t.turn.status } : {},
      items: { data: items, has_more: false },
    };
  }

  private page<T extends { id: string }>(list: T[], after: unknown, limit: number): Response {
    let rest = list;
    if (after !== undefined && after !== null) {
      const at = list.findIndex((x) => x.id === after);
      if (at === -1) return problem(404, "Not Found", "The `after` cursor does not name an item of this list.");
      rest = list.slice(at + 1);
    }
    const data = rest.slice(0, limit);
    const more = rest.length > limit;
    return json(200, { data, has_more: more, ...(more ? { after: data[data.length - 1].id } : {}) });
  }

  private chatkit(
    req: { type: string; params: Record<string, unknown> },
    user: string,
    key: string | null,
    signal?: AbortSignal,
  ): Response {
    const p = req.params ?? {};
    const find = () => this.threads.find((t) => t.id === p.thread_id && t.user === user);
    const limit = (fallback = 20) => Math.min(Math.max(Number(p.limit) || fallback, 1), 100);
    switch (req.type) {
      case "threads.list": {
        const mine = this.threads.filter((t) => t.user === user);
        const list = (p.order === "asc" ? mine : mine.slice().reverse()).map((t) => this.threadJson(t));
        return this.page(list, p.after, limit());
      }
      case "threads.get_by_id": {
        const t = find();
        if (!t) return problem(404, "Not Found", "conversation not found");
        const first = t.items.slice(0, 20);
        const more = t.items.length > 20;
        return json(200, {
          ...this.threadJson(t, first, true),
          items: { data: first, has_more: more, ...(more ? { after: first[19].id } : {}) },
        });
      }
      case "items.list": {
        const t = find();
        if (!t) return problem(404, "Not Found", "conversation not found");
        return this.page(p.order === "asc" ? t.items.slice() : t.items.slice().reverse(), p.after, limit());
      }
      case "threads.update": {
        const t = find();
        if (!t) return problem(404, "Not Found", "conversation not found");
        t.title = String(p.title);
        return json(200, this.threadJson(t, [], true));
      }
      case "threads.delete": {
        const t = find();
        if (!t) return problem(404, "Not Found", "conversation not found");
        this.threads = this.threads.filter((x) => x !== t);
        return json(200, {});
      }
      case "threads.create":
      case "threads.add_user_message":
      case "threads.retry_after_item":
      case "threads.add_structured_input":
        return this.turn(req.type, p, user, key, signal);
      default:
        return problem(400, "Bad Request", `unknown ChatKit request type "${req.type}"`);
    }
  }

  private busy(message: string, signal?: AbortSignal): Response {
    return this.sse([{ event: { type: "error", code: "custom", message, allow_retry: true } }], -1, signal);
  }

  private turn(type: string, p: Record<string, unknown>, user: string, key: string | null, signal?: AbortSignal): Response {
    if (this.failNext === "network") {
      this.failNext = null;
      throw new TypeError("Failed to fetch");
    }
    const keyed = type !== "threads.retry_after_item" && key !== null;
    const answering = type === "threads.add_structured_input";
    if (keyed && !/^[\x21-\x7e]{1,128}$/.test(key)) {
      return problem(422, "Unprocessable Entity", "Idempotency-Key: must be 1 to 128 visible ASCII characters", [
        { field: "Idempotency-Key", message: "must be 1 to 128 visible ASCII characters" },
      ]);
    }
    const slot = `${user}\n${key}`;
    const fingerprint = canonical({ type, params: p });
    const seen = keyed ? this.keys.get(slot) : undefined;
    if (seen) {
      if (seen.fingerprint !== fingerprint) {
        return problem(422, "Unprocessable Entity", "Idempotency-Key: was already used for a different request", [
          { field: "Idempotency-Key", message: "was already used for a different request" },
        ]);
      }
      const run = seen.run;
      const thread = this.threads.find((t) => t.id === run.threadId && t.user === user);
      if (!thread) {
        return this.sse([{ event: { type: "error", code: "custom", message: "This conversation no longer exists.", allow_retry: false } }]);
      }
      if (run.status === "running") return this.busy(STILL_ANSWERING, signal);
      const created: Step[] = run.created ? [{ event: { type: "thread.created", thread: this.threadJson(thread) } }] : [];
      if (run.status === "done") {
        // Replay what was stored; nothing runs again.
        return this.sse(
          [...created, { event: { type: "thread.item.done", item: run.userItem } }, { event: { type: "thread.item.done", item: run.reply } }],
          -1,
          signal,
        );
      }
      // The turn failed: continue it (same user message, tools that ran are not run again).
      if (thread.turn && thread.turn !== run && thread.turn.status === "running") return this.busy(ANOTHER_REPLY, signal);
      run.status = "running";
      thread.turn = run;
      return this.respond(run, thread, [...created, { event: { type: "thread.item.done", item: run.userItem } }], signal);
    }

    let thread: ThreadRec | undefined;
    if (type !== "threads.create") {
      thread = this.threads.find((t) => t.id === p.thread_id && t.user === user);
      if (!thread) return problem(404, "Not Found", "conversation not found");
      if (thread.turn?.status === "running") return this.busy(ANOTHER_REPLY, signal);
    }

    if (type === "threads.retry_after_item") {
      const t = thread!;
      const at = t.items.findIndex((i) => i.id === p.item_id && i.type === "user_message");
      if (at === -1) return problem(404, "Not Found", "item not found");
      const newest = t.items.filter((i) => i.type === "user_message").pop();
      if (newest !== t.items[at]) return problem(409, "Conflict", NOT_NEWEST);
      const previous = t.turn?.userItem === t.items[at] ? t.turn : undefined;
      t.items = t.items.slice(0, at + 1);
      const run: Run = {
        status: "running",
        created: false,
        threadId: t.id,
        userItem: t.items[at],
        toolsDone: previous?.toolsDone ?? true,
        turnId: previous?.turnId ?? this.newTurnId(),
        task: previous?.task,
      };
      t.turn = run;
      return this.respond(run, t, [], signal);
    }

    let confirm: Run["confirm"];
    let replaced: Item | undefined;
    let text: string;
    if (answering) {
      const t = thread!;
      const item = t.items.find((i) => i.id === p.item_id && i.type === "structured_input");
      if (!item) return problem(404, "Not Found", "item not found");
      if (item.status !== "pending") return problem(409, "Conflict", QUESTION_CLOSED);
      const answers = (p.input as { answers?: Record<string, { values?: unknown[] }> } | undefined)?.answers ?? {};
      const given = String(answers.confirm?.values?.[0] ?? "No");
      const word = given.toLowerCase();
      text = word === "yes" ? "Yes" : word === "no" ? "No" : given;
      item.status = "answered";
      (item.inputs as { answer: unknown }[]).forEach((input) => (input.answer = { values: [text], skipped: false }));
      replaced = structuredClone(item);
      confirm = { ids: t.asked?.find((a) => a.itemId === item.id)?.ids ?? [], yes: text === "Yes" };
    } else {
      text = ((p.input as { content: { text: string }[] }).content[0] ?? { text: "" }).text;
    }
    const created = !thread;
    if (!thread) {
      thread = { id: `thr_${this.nextId++}`, user, created_at: now(), items: [] };
      this.threads.push(thread);
    }
    // A new message (the answer included, once taken) closes every question still open.
    for (const item of thread.items) {
      if (item.type === "structured_input" && item.status === "pending") {
        item.status = "skipped";
        (item.inputs as { answer: unknown }[]).forEach((input) => (input.answer = { values: [], skipped: true }));
      }
    }
    const userItem = this.userItem(thread.id, text);
    thread.items.push(userItem);
    const run: Run = { status: "running", created, threadId: thread.id, userItem, toolsDone: false, turnId: this.newTurnId(), confirm };
    thread.turn = run;
    if (keyed) this.keys.set(slot, { fingerprint, run });
    const head: Step[] = replaced ? [{ event: { type: "thread.item.replaced", item: replaced } }] : [];
    if (created) head.push({ event: { type: "thread.created", thread: this.threadJson(thread) } });
    head.push({ event: { type: "thread.item.done", item: userItem } });
    return this.respond(run, thread, head, signal);
  }

  /** Runs a turn's tools and streams its reply after `head`; the reply is stored when it is done. */
  private respond(run: Run, thread: ThreadRec, head: Step[], signal?: AbortSignal): Response {
    const steps: Step[] = [...head, { event: { type: "stream_options", stream_options: { allow_cancel: false } } }];
    const fail = this.failNext === "error-event";
    this.failNext = null;
    const text = (run.userItem.content as { text: string }[])[0].text;
    const m = /add a task to (.+)/i.exec(text);
    let question: { item: Item; ids: number[] } | undefined;
    if (m && !run.toolsDone) {
      steps.push({ event: { type: "progress_update", text: "Adding a task…" } });
      run.task = this.addTask(thread.user, m[1][0].toUpperCase() + m[1].slice(1));
      this.recordCreated(thread.user, run.task.id, { source: "chat", turn: run.turnId }, this.xact());
      steps.push({ event: { type: "client_effect", name: "tasks_changed", data: { tool: "add_task" } } });
    } else if (run.confirm && !run.toolsDone) {
      if (run.confirm.yes) {
        const xact = this.xact();
        const gone = run.confirm.ids
          .map((id) => this.tasks.find((t) => t.user === thread.user && t.id === id))
          .filter((t): t is Stored => t !== undefined);
        for (const t of gone) this.bin(t, { source: "chat", turn: run.turnId }, xact, null);
        steps.push({ event: { type: "progress_update", text: "Changing tasks…" } });
        steps.push({ event: { type: "client_effect", name: "tasks_changed", data: { tool: "confirm_change" } } });
        run.said = `Deleted ${gone.length} tasks: ${gone.map((t) => `#${t.id} ${quoted(t.title)}`).join(", ")}.`;
      } else {
        run.said = "Cancelled: nothing was changed.";
      }
    } else if (/^delete all completed tasks$/i.test(text.trim()) && !run.toolsDone) {
      const done = this.tasks.filter((t) => t.user === thread.user && t.completed);
      if (done.length > 0) {
        const asking = done.length === 1 ? "Delete this task?" : `Delete these ${done.length} tasks?`;
        run.said = `${asking} Answer yes or no.\n\n${done.map((t) => `- #${t.id} ${t.title}`).join("\n")}`;
        question = { item: this.questionItem(thread.id, run.turnId, asking), ids: done.map((t) => t.id) };
      } else {
        run.said = "No task matches, so there is nothing to change.";
      }
    }
    run.toolsDone = true;
    const reply = run.said ?? (run.task ? `Added task #${run.task.id}: **${run.task.title}**.` : `You said: ${text}`);
    const assistant = this.assistantItem(thread.id, reply);
    const update = (u: Record<string, unknown>) => ({ event: { type: "thread.item.updated", item_id: assistant.id, update: u } });
    const part = (t: string) => ({ type: "output_text", text: t, annotations: [] });
    steps.push({ event: { type: "thread.item.added", item: { ...assistant, content: [] } } });
    steps.push(update({ type: "assistant_message.content_part.added", content_index: 0, content: part("") }));
    const gateAfter = steps.length + 1;
    for (const d of fail ? ["Partial"] : reply.match(/.{1,6}/gs)!) {
      steps.push(update({ type: "assistant_message.content_part.text_delta", content_index: 0, delta: d }));
    }
    if (fail) {
      steps.push({
        effect: () => (run.status = "failed"),
        event: { type: "error", code: "custom", message: "The assistant is unavailable.", allow_retry: true },
      });
    } else {
      let titled = false;
      steps.push(update({ type: "assistant_message.content_part.done", content_index: 0, content: part(reply) }));
      steps.push({
        effect: () => {
          thread.items.push(assistant);
          run.reply = assistant;
          run.status = "done";
          if (!thread.title) {
            thread.title = text.slice(0, 40);
            titled = true;
          }
        },
        event: { type: "thread.item.done", item: assistant },
      });
      if (question) {
        const { item, ids } = question;
        steps.push({
          effect: () => {
            thread.items.push(item);
            thread.asked = [...(thread.asked ?? []), { itemId: item.id, ids }];
          },
          event: { type: "thread.item.added", item },
        });
        steps.push({ event: { type: "thread.item.done", item } });
      }
      steps.push({ event: () => (titled ? { type: "thread.updated", thread: this.threadJson(thread) } : undefined) });
    }
    return this.sse(steps, gateAfter, signal);
  }

  /**
   * An SSE response playing `steps`. Effects happen whether or not the client still listens: a dropped
   * connection (`dropNext`) or an aborted request ends the body but not the turn.
   */
  private sse(steps: Step[], gateAfter = -1, signal?: AbortSignal): Response {
    const enc = new TextEncoder();
    const gate = this.gate;
    const size = this.chunkSize;
    const drop = this.dropNext;
    this.dropNext = null;
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        let connected = true;
        let sent = 0;
        const write = (text: string) => {
          for (let at = 0; at < text.length; at += size) controller.enqueue(enc.encode(text.slice(at, at + size)));
        };
        const cut = async (how: "error" | "close" | "abort") => {
          connected = false;
          if (how === "close") return controller.close();
          if (how === "abort") return controller.error(new DOMException("aborted", "AbortError"));
          // Let the client read what was sent before the connection went (bounded, in case it stopped).
          for (let n = 0; n < 100 && (controller.desiredSize ?? 1) < 1; n++) await new Promise((r) => setTimeout(r, 0));
          controller.error(new TypeError("network error"));
        };
        if (drop && drop.afterEvents === 0) await cut(drop.how ?? "error");
        for (let i = 0; i < steps.length; i++) {
          if (gate && i === gateAfter) {
            if (connected) write(": keep-alive\n\n");
            await gate;
          }
          if (connected && signal?.aborted) await cut("abort");
          const step = steps[i];
          step.effect?.();
          const event = typeof step.event === "function" ? (step.event as () => unknown)() : step.event;
          if (event === undefined || !connected) continue;
          write(`data: ${JSON.stringify(event)}\n\n`);
          sent++;
          if (drop && sent === drop.afterEvents) await cut(drop.how ?? "error");
          else await Promise.resolve();
        }
        if (connected) controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { "Content-Type": "text/event-stream" } });
  }
}

function strip(t: Task & { user?: string; last_completed_at?: string | null }): Task {
  const { user: _user, last_completed_at: _last, ...rest } = t;
  void _user;
  void _last;
  return rest;
}

const quoted = (text: string) => `\u201c${text}\u201d`;
const textOf = (fields: Fields, key: string) => (typeof fields[key] === "string" ? (fields[key] as string) : null);
const dueText = (fields: Fields) => {
  const due = fields.due as { text?: unknown } | null | undefined;
  return due && typeof due.text === "string" ? due.text : null;
};

/** One line for an event, as the server writes it (shared/src/history.rs `summarise`). */
export function summarise(kind: string, title: string, before: Fields | null, after: Fields | null, undoes: number | null): string {
  const name = quoted(title);
  const b = before ?? {};
  const a = after ?? {};
  let line: string;
  switch (kind) {
    case "created":
      line = `Added ${name}`;
      break;
    case "deleted":
      line = `Deleted ${name}`;
      break;
    case "restored":
      line = `Restored ${name}`;
      break;
    case "reopened":
      line = `Reopened ${name}`;
      break;
    case "completed": {
      const next = dueText(a);
      line = next !== null && !("completed" in a) ? `Completed ${name}; next due ${next}` : `Completed ${name}`;
      break;
    }
    case "moved":
      line = `Moved ${name} to ${textOf(a, "list") ?? INBOX}`;
      break;
    default: {
      const parts: string[] = [];
      const [was, now] = [textOf(b, "title"), textOf(a, "title")];
      if (was !== null && now !== null) parts.push(`renamed ${quoted(was)} to ${quoted(now)}`);
      if ("description" in a) parts.push(textOf(a, "description") !== null ? "changed the description" : "removed the description");
      if ("due" in a) {
        const text = dueText(a);
        parts.push(text !== null ? `due ${text}` : "removed the due date");
      }
      const priority = textOf(a, "priority");
      if (priority !== null) parts.push(`priority ${priority}`);
      if (Array.isArray(a.tags)) parts.push(a.tags.length === 0 ? "removed the tags" : `tags ${a.tags.map((t) => `#${String(t)}`).join(" ")}`);
      const list = textOf(a, "list");
      if (list !== null) parts.push(`moved to ${list}`);
      if (parts.length === 0) line = `Changed ${name}`;
      else if (now !== null) {
        const joined = parts.join(", ");
        line = joined[0].toUpperCase() + joined.slice(1);
      } else line = `Changed ${name}: ${parts.join(", ")}`;
    }
  }
  return undoes !== null ? `Undo: ${line}` : line;
}

/** An unsigned JWT-shaped token carrying `sub` (the fake accepts it as proof of the user). */
export function fakeToken(user: string): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: user, exp: Math.floor(Date.now() / 1000) + 43200 })}.sig`;
}

function userOf(headers: Headers): string | null {
  const auth = headers.get("Authorization");
  const m = /^Bearer (.+)$/.exec(auth ?? "");
  if (!m) return null;
  try {
    const payload = m[1].split(".")[1];
    return (JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { sub: string }).sub;
  } catch {
    return null;
  }
}
