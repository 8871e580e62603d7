/** Client of the REST task API (`/api/tasks`). */
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

export type Task = {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  due: Due | null;
};

/** Whether a pending task's due has passed: its instant, or (all day) a date before today. */
export function isOverdue(task: Task, now: Date = new Date()): boolean {
  if (task.completed || !task.due) return false;
  if (task.due.at) return new Date(task.due.at).getTime() < now.getTime();
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: task.due.timezone }).format(now);
  return task.due.date < today;
}

export type TaskFilter = "all" | "pending" | "completed";

export type TaskPage = { tasks: Task[]; next_cursor: string | null };

export type TaskPatch = Partial<{ title: string; description: string | null; completed: boolean }>;

export class TasksApi {
  private readonly fetchFn: typeof fetch;
  private readonly base: string;

  constructor(fetchFn: typeof fetch, apiBase = "") {
    this.fetchFn = fetchFn;
    this.base = `${apiBase}/api/tasks`;
  }

  list(params: { status?: TaskFilter; q?: string; limit?: number; cursor?: string | null } = {}, signal?: AbortSignal) {
    const qs = new URLSearchParams();
    qs.set("status", params.status ?? "all");
    if (params.q) qs.set("q", params.q);
    if (params.limit) qs.set("limit", String(params.limit));
    if (params.cursor) qs.set("cursor", params.cursor);
    return requestJson<TaskPage>(this.fetchFn, `${this.base}?${qs}`, { signal });
  }

  create(title: string, description?: string | null) {
    const body: { title: string; description?: string } = { title };
    if (description) body.description = description;
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

  remove(id: number) {
    return requestJson<void>(this.fetchFn, `${this.base}/${id}`, { method: "DELETE" });
  }
}
