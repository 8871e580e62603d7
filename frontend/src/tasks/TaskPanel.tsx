/** The task panel: filter, add, complete / reopen, edit and delete through the REST API. */
import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { ApiError } from "../api/http";
import { isOverdue, type Task, type TaskFilter, type TasksApi } from "../api/tasks";
import { PencilIcon, PlusIcon, TrashIcon } from "../ui/icons";

const FILTERS: { value: TaskFilter; label: string }[] = [
  { value: "all", label: "All" },
  { value: "pending", label: "Pending" },
  { value: "completed", label: "Completed" },
];

const PAGE = 100;

type Props = {
  api: TasksApi;
  /** Bumped by the chat when tasks may have changed: the panel reloads. */
  refreshKey: number;
};

function messageOf(e: unknown): string {
  return e instanceof ApiError ? e.userMessage : "Something went wrong. Try again.";
}

function isAbort(e: unknown) {
  return e instanceof DOMException && e.name === "AbortError";
}

function matches(filter: TaskFilter, t: Task) {
  return filter === "all" || (filter === "completed") === t.completed;
}

export function TaskPanel({ api, refreshKey }: Props) {
  const [filter, setFilter] = useState<TaskFilter>("all");
  const [tasks, setTasks] = useState<Task[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [showDetails, setShowDetails] = useState(false);
  const [adding, setAdding] = useState(false);
  const [addError, setAddError] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const titleRef = useRef<HTMLInputElement>(null);
  const loadRef = useRef<AbortController | null>(null);
  const id = useId();

  const load = useCallback(
    async (f: TaskFilter, cursor: string | null = null) => {
      if (!cursor) loadRef.current?.abort();
      const ac = new AbortController();
      if (!cursor) loadRef.current = ac;
      try {
        const page = await api.list({ status: f, limit: PAGE, cursor }, ac.signal);
        setTasks((prev) => (cursor ? [...prev, ...page.tasks.filter((t) => !prev.some((p) => p.id === t.id))] : page.tasks));
        setNext(page.next_cursor);
        setError(null);
      } catch (e) {
        if (!isAbort(e)) setError(`Could not load tasks: ${messageOf(e)}`);
      } finally {
        setLoaded(true);
      }
    },
    [api],
  );

  useEffect(() => {
    void load(filter);
  }, [load, filter, refreshKey]);

  useEffect(() => () => loadRef.current?.abort(), []);

  const replace = (t: Task) =>
    setTasks((prev) => (matches(filter, t) ? prev.map((p) => (p.id === t.id ? t : p)) : prev.filter((p) => p.id !== t.id)));

  const add = async (e: FormEvent) => {
    e.preventDefault();
    const t = title.trim();
    if (!t) {
      setAddError("Enter a title for the task.");
      titleRef.current?.focus();
      return;
    }
    setAdding(true);
    setAddError(null);
    try {
      const task = await api.create(t, description.trim() || null);
      setTitle("");
      setDescription("");
      setShowDetails(false);
      setStatus(`Added “${task.title}”.`);
      await load(filter);
      titleRef.current?.focus();
    } catch (err) {
      setAddError(messageOf(err));
    } finally {
      setAdding(false);
    }
  };

  const toggle = async (t: Task) => {
    try {
      const recurring = !t.completed && t.due?.recurrence;
      const updated = t.completed ? await api.reopen(t.id) : await api.complete(t.id, recurring ? t.due?.date : undefined);
      replace(updated);
      setStatus(
        recurring && updated.due
          ? `Completed “${updated.title}”; next due ${updated.due.text}.`
          : updated.completed
            ? `Completed “${updated.title}”.`
            : `Reopened “${updated.title}”.`,
      );
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const save = async (t: Task, patch: { title: string; description: string | null }) => {
    const updated = await api.update(t.id, patch);
    replace(updated);
    setStatus(`Saved “${updated.title}”.`);
  };

  const remove = async (t: Task) => {
    try {
      await api.remove(t.id);
      setTasks((prev) => prev.filter((p) => p.id !== t.id));
      setStatus(`Deleted “${t.title}”.`);
      setError(null);
      headingRef.current?.focus();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const pending = tasks.filter((t) => !t.completed).length;
  const done = tasks.length - pending;
  const summary =
    filter === "all"
      ? `${pending} pending · ${done} done`
      : `${tasks.length} ${filter}${next ? "+" : ""}`;
  const emptyText =
    filter === "all" ? "No tasks yet. Add one here or ask the assistant." : filter === "pending" ? "Nothing pending. Nice!" : "No completed tasks yet.";

  return (
    <div className="tasks">
      <div className="tasks-head">
        <h2 ref={headingRef} tabIndex={-1} id={`${id}-h`}>
          Tasks
        </h2>
        {loaded && <span className="tasks-summary">{summary}</span>}
      </div>

      <div className="filters" role="group" aria-label="Show tasks">
        {FILTERS.map((f) => (
          <button key={f.value} type="button" className="filter" aria-pressed={filter === f.value} onClick={() => setFilter(f.value)}>
            {f.label}
          </button>
        ))}
      </div>

      <form className="add-task" onSubmit={add} noValidate>
        <label htmlFor={`${id}-title`} className="visually-hidden">
          New task
        </label>
        <div className="add-row">
          <input
            id={`${id}-title`}
            ref={titleRef}
            value={title}
            maxLength={200}
            placeholder="Add a task…"
            onChange={(e) => setTitle(e.target.value)}
            aria-invalid={addError ? true : undefined}
            aria-describedby={addError ? `${id}-adderr` : undefined}
          />
          <button type="submit" className="btn btn-primary" disabled={adding}>
            <PlusIcon /> Add
          </button>
        </div>
        {showDetails ? (
          <>
            <label htmlFor={`${id}-desc`} className="visually-hidden">
              Description
            </label>
            <textarea
              id={`${id}-desc`}
              value={description}
              maxLength={2000}
              rows={2}
              placeholder="Details (optional)"
              onChange={(e) => setDescription(e.target.value)}
            />
          </>
        ) : (
          <button type="button" className="link-btn" onClick={() => setShowDetails(true)}>
            Add details
          </button>
        )}
        {addError && (
          <p id={`${id}-adderr`} className="inline-error" role="alert">
            {addError}
          </p>
        )}
      </form>

      {error && (
        <p className="inline-error" role="alert">
          {error}
        </p>
      )}
      <p className="visually-hidden" role="status">
        {status}
      </p>

      {loaded && tasks.length === 0 && !error ? (
        <p className="tasks-empty muted">{emptyText}</p>
      ) : (
        <ul className="task-list" aria-labelledby={`${id}-h`}>
          {tasks.map((t) => (
            <TaskRow key={t.id} task={t} onToggle={() => toggle(t)} onSave={(p) => save(t, p)} onDelete={() => remove(t)} />
          ))}
        </ul>
      )}
      {next && (
        <button type="button" className="btn btn-block" onClick={() => load(filter, next)}>
          Load more
        </button>
      )}
    </div>
  );
}

type RowProps = {
  task: Task;
  onToggle: () => Promise<void>;
  onSave: (patch: { title: string; description: string | null }) => Promise<void>;
  onDelete: () => Promise<void>;
};

function TaskRow({ task, onToggle, onSave, onDelete }: RowProps) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description ?? "");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** The state the user just asked for, shown until the server answers (then the task's own state). */
  const [optimistic, setOptimistic] = useState<boolean | null>(null);
  const editBtn = useRef<HTMLButtonElement>(null);
  const titleRef = useRef<HTMLInputElement>(null);
  const id = useId();

  useEffect(() => {
    if (editing) titleRef.current?.focus();
  }, [editing]);

  const startEdit = () => {
    setTitle(task.title);
    setDescription(task.description ?? "");
    setError(null);
    setEditing(true);
  };

  const stopEdit = () => {
    setEditing(false);
    setError(null);
    requestAnimationFrame(() => editBtn.current?.focus());
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!title.trim()) {
      setError("The title cannot be empty.");
      titleRef.current?.focus();
      return;
    }
    setBusy(true);
    try {
      await onSave({ title: title.trim(), description: description.trim() || null });
      stopEdit();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      e.preventDefault();
      stopEdit();
    }
  };

  if (editing) {
    return (
      <li className="task editing" data-task-id={task.id}>
        <form onSubmit={submit} onKeyDown={onKey} className="task-edit" aria-label={`Edit “${task.title}”`}>
          <label htmlFor={`${id}-t`}>Title</label>
          <input id={`${id}-t`} ref={titleRef} value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
          <label htmlFor={`${id}-d`}>Description</label>
          <textarea id={`${id}-d`} value={description} maxLength={2000} rows={3} onChange={(e) => setDescription(e.target.value)} />
          {error && (
            <p className="inline-error" role="alert">
              {error}
            </p>
          )}
          <div className="task-edit-actions">
            <button type="button" className="btn btn-small" onClick={stopEdit}>
              Cancel
            </button>
            <button type="submit" className="btn btn-small btn-primary" disabled={busy}>
              Save
            </button>
          </div>
        </form>
      </li>
    );
  }

  return (
    <li className={`task${(optimistic ?? task.completed) ? " done" : ""}`} data-task-id={task.id}>
      <input
        type="checkbox"
        id={`${id}-c`}
        className="task-check"
        checked={optimistic ?? task.completed}
        aria-busy={busy || undefined}
        onChange={async () => {
          if (busy) return;
          setBusy(true);
          setOptimistic(!task.completed);
          await onToggle();
          setOptimistic(null);
          setBusy(false);
        }}
        aria-describedby={task.description ? `${id}-desc` : undefined}
      />
      <div className="task-body">
        <label htmlFor={`${id}-c`} className="task-title">
          {task.title}
        </label>
        {task.description && (
          <p id={`${id}-desc`} className="task-desc">
            {task.description}
          </p>
        )}
        <span className="task-meta">
          {task.due && !task.completed && (
            <span className="due-chip" data-overdue={isOverdue(task) || undefined} title={task.due.recurrence?.text}>
              {isOverdue(task) && <span className="visually-hidden">Overdue: </span>}
              {task.due.text}
              {task.due.recurrence && (
                <span className="due-repeat" aria-label={`, ${task.due.recurrence.text}`}>
                  {" ↻"}
                </span>
              )}
            </span>
          )}
          #{task.id}
          {task.completed && task.completed_at ? ` · done ${new Date(task.completed_at).toLocaleDateString(undefined, { month: "short", day: "numeric" })}` : ""}
        </span>
      </div>
      <div className="task-actions">
        <button type="button" ref={editBtn} className="icon-btn" onClick={startEdit} aria-label={`Edit “${task.title}”`} title="Edit">
          <PencilIcon />
        </button>
        <button
          type="button"
          className="icon-btn danger"
          onClick={async () => {
            setBusy(true);
            await onDelete();
            setBusy(false);
          }}
          disabled={busy}
          aria-label={`Delete “${task.title}”`}
          title="Delete"
        >
          <TrashIcon />
        </button>
      </div>
    </li>
  );
}
