/** Client of the REST task API (`/api/tasks`, `/api/lists`, `/api/counts`, `/api/parse`). */
import { requestJson } from "./http";

/** When a task is due, as the server renders it (`text`: "Fri 5 Dec, 17:00"). */
export type Due = {
  date: string;
  time: string | null;
  timezone: string;
  at: string | null;
  recurrence: { rule: string; text: string } | null;
  text: string;
};

export type Priority = "none" | "low" | "medium" | "high";

/** The list every user has; it holds every task not on another list. */
export const INBOX = "Inbox";

export type Task = {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  due: Due | null;
  priority: Priority;
  /** The list's name ("Inbox" when on no other list). */
  list: string;
  /** Lower case, at most 10. */
  tags: string[];
};

/** Whether a pending task's due has passed: its instant, or (all day) a date before today. */
export function isOverdue(task: Task, now: Date = new Date()): boolean {
  if (task.completed || !task.due) return false;
  if (task.due.at) return new Date(task.due.at).getTime() < now.getTime();
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: task.due.timezone }).format(now);
  return task.due.date < today;
}

export type TaskFilter = "all" | "pending" | "completed";
export type TaskView = "today" | "overdue" | "upcoming" | "no_date" | "all";
export type TaskSort = "due" | "priority" | "created" | "updated" | "title" | "relevance";

/** Query of `GET /api/tasks`; absent fields are left to the server's defaults. */
export type TaskQuery = {
  view?: TaskView;
  status?: TaskFilter;
  q?: string;
  list?: string;
  tag?: string;
  priority?: Priority;
  due_before?: string;
  due_after?: string;
  sort?: TaskSort;
  order?: "asc" | "desc";
  limit?: number;
  cursor?: string | null;
};

export type TaskPage = { tasks: Task[]; next_cursor: string | null };

/** A due date as a phrase ("every monday at 9"), an object like the one the server shows, or null. */
export type DueInput = string | (Pick<Due, "date"> & Partial<Pick<Due, "time" | "timezone">> & { recurrence?: { rule: string } | null }) | null;

export type NewTask = {
  title: string;
  description?: string | null;
  due?: DueInput;
  priority?: Priority;
  list?: string;
  tags?: string[];
};

export type TaskPatch = Partial<{
  title: string;
  description: string | null;
  completed: boolean;
  due: DueInput;
  priority: Priority | null;
  list: string | null;
  tags: string[] | null;
}>;

export type TaskList = { id: number; name: string; pending: number; total: number };

export type Counts = { today: number; overdue: number; upcoming: number; no_date: number; pending: number; completed: number };

/** What the quick-add line means (`GET /api/parse`). */
export type QuickParse = {
  title: string;
  due: Due | null;
  /** From `!high`, `!2`, `!none`…; null when the line names none. */
  priority: Priority | null;
  tags: string[];
  list: string | null;
  chips: { kind: "due" | "priority" | "tag" | "list"; text: string; label: string }[];
};

/** What a change did to a task. */
export type EventKind = "created" | "updated" | "completed" | "reopened" | "deleted" | "restored" | "moved";
/** Where a change came from: the REST API, the web app, an MCP client or the chat assistant. */
export type EventSource = "rest" | "ui" | "mcp" | "chat";

/** One change to one task, from its history (`GET /api/activity`). */
export type TaskEvent = {
  id: number;
  task_id: number;
  kind: EventKind;
  source: EventSource;
  turn_id: string | null;
  /** The fields the change replaced / wrote (API-named, only those it touched). */
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  at: string;
  /** The event this change reversed, when an undo made it. */
  undoes: number | null;
  /** Whether a later undo reversed this change. */
  undone: boolean;
  title: string;
  /** One line: `Renamed “Buy milk” to “Buy oat milk”`. */
  summary: string;
};

export type EventPage = { events: TaskEvent[]; next_cursor: string | null };

export type ActivityQuery = { task_id?: number; limit?: number; cursor?: string | null };

/** Deleted tasks, most recently deleted first; each stays 30 days. */
export type TrashPage = { tasks: Task[]; next_cursor: string | null };

/** How long a deleted task waits in the trash. */
export const TRASH_DAYS = 30;

function query(params: Record<string, unknown>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `?${s}` : "";
}

export class TasksApi {
  private readonly fetchFn: typeof fetch;
  private readonly api: string;
  private readonly base: string;

  constructor(fetchFn: typeof fetch, apiBase = "") {
    this.fetchFn = fetchFn;
    this.api = `${apiBase}/api`;
    this.base = `${apiBase}/api/tasks`;
  }

  list(params: TaskQuery = {}, signal?: AbortSignal) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") qs.set(k, String(v));
    }
    return requestJson<TaskPage>(this.fetchFn, `${this.base}?${qs}`, { signal });
  }

  create(task: NewTask) {
    const body: Record<string, unknown> = { title: task.title };
    for (const [k, v] of Object.entries(task)) if (k !== "title" && v !== undefined && v !== null && v !== "") body[k] = v;
    return requestJson<Task>(this.fetchFn, this.base, { method: "POST", body });
  }

  update(id: number, patch: TaskPatch) {
    return requestJson<Task>(this.fetchFn, `${this.base}/${id}`, { method: "PATCH", body: patch });
  }

  /** `occurrence`: for a recurring task, the due date being completed, so a repeat moves it once. */
  complete(id: number, occurrence?: string) {
    const qs = occurrence ? `?occurrence=${encodeURIComponent(occurrence)}` : "";
    return requestJson<Task>(this.fetchFn, `${this.base}/${id}/complete${qs}`, { method: "POST" });
  }

  reopen(id: number) {
    return requestJson<Task>(this.fetchFn, `${this.base}/${id}/reopen`, { method: "POST" });
  }

  /** Moves the task to the trash (for {@link TRASH_DAYS} days). */
  remove(id: number) {
    return requestJson<void>(this.fetchFn, `${this.base}/${id}`, { method: "DELETE" });
  }

  /** Brings a task back from the trash, with its number; a 404 when it is not there. */
  restore(id: number) {
    return requestJson<Task>(this.fetchFn, `${this.base}/${id}/restore`, { method: "POST" });
  }

  /** A page of the trash, most recently deleted first. */
  trash(params: { limit?: number; cursor?: string | null } = {}, signal?: AbortSignal) {
    return requestJson<TrashPage>(this.fetchFn, `${this.api}/trash${query(params)}`, { signal });
  }

  /** A page of the history (of one task with `task_id`), newest first. */
  activity(params: ActivityQuery = {}, signal?: AbortSignal) {
    return requestJson<EventPage>(this.fetchFn, `${this.api}/activity${query(params)}`, { signal });
  }

  /**
   * Reverses the user's latest change, whatever made it (or everything the chat turn `turnId`
   * changed); undoing again redoes it. A 409 (with the reason in `detail`) changed nothing.
   */
  undo(turnId?: string) {
    return requestJson<{ undone: TaskEvent[] }>(this.fetchFn, `${this.api}/undo`, { method: "POST", body: turnId ? { turn_id: turnId } : {} });
  }

  /** The quick-add preview of a line ("Buy milk tomorrow 5pm #errands !high"); a 422 when it is not usable. */
  parse(text: string, signal?: AbortSignal) {
    return requestJson<QuickParse>(this.fetchFn, `${this.api}/parse?${new URLSearchParams({ text })}`, { signal });
  }

  counts(signal?: AbortSignal) {
    return requestJson<Counts>(this.fetchFn, `${this.api}/counts`, { signal });
  }

  /** The Inbox (id 0) first, then the user's lists by name. */
  async lists(signal?: AbortSignal) {
    return (await requestJson<{ lists: TaskList[] }>(this.fetchFn, `${this.api}/lists`, { signal })).lists;
  }

  createList(name: string) {
    return requestJson<TaskList>(this.fetchFn, `${this.api}/lists`, { method: "POST", body: { name } });
  }

  renameList(id: number, name: string) {
    return requestJson<TaskList>(this.fetchFn, `${this.api}/lists/${id}`, { method: "PATCH", body: { name } });
  }

  /** Its tasks move to the Inbox. */
  deleteList(id: number) {
    return requestJson<void>(this.fetchFn, `${this.api}/lists/${id}`, { method: "DELETE" });
  }
}
