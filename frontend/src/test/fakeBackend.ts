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
 * REST, as the server answers (checked against its OpenAPI document in fakeBackend.openapi.test.ts):
 * tasks with priority, list (by name; "Inbox" when on no other list) and tags; `GET /api/tasks` with
 * view (today includes overdue, upcoming is the 7 days after today, in the user's zone; `now` is the
 * fake's clock), status, q (word prefixes, accents ignored), list, tag, priority, due_before/after,
 * sort, order, limit and cursor; lists (the Inbox is id 0; names unique ignoring case; deleting one
 * moves its tasks to the Inbox); `/api/counts`; and `/api/parse` and `/api/due/parse` with a small
 * subset of the server's date parser (test/fakeDue.ts).
 */
import { INBOX, type Due, type Priority, type Task } from "../api/tasks";
import { SseParser } from "../chat/sse";
import { addDays, localDate, makeDue, nextAfter, parseDuePhrase, parseDueWords, parseRule } from "./fakeDue";

/** A task as stored: whose it is; `list` is the list's name. */
type Stored = Task & { user: string };
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
  task?: Task;
  reply?: Item;
};
type ThreadRec = { id: string; user: string; title?: string; created_at: string; items: Item[]; turn?: Run };
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
    if (u.pathname.startsWith("/api/tasks")) return this.rest(u, method, body, user);
    if (u.pathname.startsWith("/api/lists")) return this.listsRoute(u, method, body, user);
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

  /** A task as the server stores it: `list` is the list's name ("Inbox" when on no other list). */
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

  private rest(u: URL, method: string, body: Record<string, unknown> | undefined, user: string): Response {
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
        return json(201, task);
      }
      return problem(405, "Method Not Allowed", "GET or POST");
    }
    const task = mine.find((t) => t.id === Number(parts[2]));
    if (!task) return problem(404, "Not Found", "No task with that id.");
    if (parts[3] === "complete" && task.due?.recurrence) {
      // As the server: a recurring task stays pending and moves on, once per occurrence sent.
      const occurrence = u.searchParams.get("occurrence");
      if (!occurrence || occurrence === task.due.date) {
        const today = localDate(this.now(), task.due.timezone);
        let date = nextAfter(task.due.recurrence.rule, task.due.date);
        while (date <= today) date = nextAfter(task.due.recurrence.rule, date);
        task.due = makeDue(date, task.due.time, task.due.timezone, task.due.recurrence.rule, this.now());
        task.updated_at = this.stamp();
      }
      return json(200, strip(task));
    }
    if (parts[3] === "complete" || parts[3] === "reopen") {
      task.completed = parts[3] === "complete";
      task.completed_at = task.completed ? (task.completed_at ?? this.stamp()) : null;
      task.updated_at = this.stamp();
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
      return json(200, strip(task));
    }
    if (method === "DELETE") {
      this.tasks = this.tasks.filter((t) => t !== task);
      return new Response(null, { status: 204 });
    }
    return problem(405, "Method Not Allowed", "");
  }

  private blank(user: string): Stored {
    return { id: 0, user, title: "", description: null, completed: false, created_at: "", updated_at: "", completed_at: null, due: null, priority: "none", list: INBOX, tags: [] };
  }

  private listsRoute(u: URL, method: string, body: Record<string, unknown> | undefined, user: string): Response {
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
      for (const t of this.tasks) if (t.user === user && t.list === list.name) t.list = INBOX;
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
      last = { status: "done", created: false, threadId: id, userItem, toolsDone: true, reply };
    }
    if (opts.unanswered !== undefined) {
      const userItem = this.userItem(id, opts.unanswered);
      items.push(userItem);
      last = { status: opts.status ?? "failed", created: false, threadId: id, userItem, toolsDone: true };
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
        task: previous?.task,
      };
      t.turn = run;
      return this.respond(run, t, [], signal);
    }

    const created = !thread;
    if (!thread) {
      thread = { id: `thr_${this.nextId++}`, user, created_at: now(), items: [] };
      this.threads.push(thread);
    }
    const text = ((p.input as { content: { text: string }[] }).content[0] ?? { text: "" }).text;
    const userItem = this.userItem(thread.id, text);
    thread.items.push(userItem);
    const run: Run = { status: "running", created, threadId: thread.id, userItem, toolsDone: false };
    thread.turn = run;
    if (keyed) this.keys.set(slot, { fingerprint, run });
    const head: Step[] = created ? [{ event: { type: "thread.created", thread: this.threadJson(thread) } }] : [];
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
    if (m && !run.toolsDone) {
      steps.push({ event: { type: "progress_update", text: "Adding a task…" } });
      run.task = this.addTask(thread.user, m[1][0].toUpperCase() + m[1].slice(1));
      steps.push({ event: { type: "client_effect", name: "tasks_changed", data: { tool: "add_task" } } });
    }
    run.toolsDone = true;
    const reply = run.task ? `Added task #${run.task.id}: **${run.task.title}**.` : `You said: ${text}`;
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

function strip(t: Task & { user?: string }): Task {
  const { user: _user, ...rest } = t;
  void _user;
  return rest;
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
