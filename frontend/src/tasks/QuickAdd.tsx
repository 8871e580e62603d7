/**
 * The add field: "Buy milk tomorrow 5pm #errands !high ~Shopping". While the user types it asks the server
 * what the line means (`GET /api/parse`, debounced) and shows chips for the due date, tags, priority and
 * list; Enter adds the task with those fields. A line the server cannot use (a 422) is explained, not sent.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { ApiError } from "../api/http";
import type { NewTask, QuickParse, Task, TasksApi } from "../api/tasks";
import { useDebounced } from "../ui/useDebounced";
import { CalendarIcon, FlagIcon, HashIcon, ListIcon, PlusIcon } from "../ui/icons";
import { DuePreview, PRIORITY_LABEL } from "./chips";

/** How long the line must stay unchanged before it is parsed. */
export const PARSE_DELAY_MS = 150;

type Preview = { text: string; parsed: QuickParse | null; error: string | null };

type Props = {
  api: TasksApi;
  /** The list new tasks go on unless the line names one (the list being viewed). */
  defaultList: string | null;
  /** The due phrase of a line without a date ("today" while Today is shown). */
  defaultDue?: string | null;
  onAdded: (task: Task) => Promise<void> | void;
};

function messageOf(e: unknown): string {
  return e instanceof ApiError ? e.userMessage : "Something went wrong. Try again.";
}

const isAbort = (e: unknown) => e instanceof DOMException && e.name === "AbortError";

/** The server does not offer the preview (an older backend): add the line as the title. */
const unsupported = (e: unknown) => e instanceof ApiError && (e.status === 404 || e.status === 405);

export function QuickAdd({ api, defaultList, defaultDue = null, onAdded }: Props) {
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [showDetails, setShowDetails] = useState(false);
  const [adding, setAdding] = useState(false);
  const [addError, setAddError] = useState<string | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const titleRef = useRef<HTMLInputElement>(null);
  const seq = useRef(0);
  const id = useId();
  const text = title.trim();
  const settled = useDebounced(text, PARSE_DELAY_MS);

  // Parse the settled line; a newer line (or an answer arriving late) wins over an older one.
  useEffect(() => {
    const mine = ++seq.current;
    if (!settled) {
      setPreview(null);
      return;
    }
    const ac = new AbortController();
    api.parse(settled, ac.signal).then(
      (parsed) => mine === seq.current && setPreview({ text: settled, parsed, error: null }),
      (e) => {
        if (isAbort(e) || mine !== seq.current) return;
        if (e instanceof ApiError && e.status === 422) setPreview({ text: settled, parsed: null, error: e.userMessage });
        else setPreview(null);
      },
    );
    return () => ac.abort();
  }, [api, settled]);

  /** The preview of exactly this line, asking now if the one shown is older. */
  const parseNow = async (line: string): Promise<Preview> => {
    if (preview && preview.text === line) return preview;
    seq.current++;
    try {
      return { text: line, parsed: await api.parse(line), error: null };
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) return { text: line, parsed: null, error: e.userMessage };
      if (unsupported(e)) return { text: line, parsed: null, error: null };
      throw e;
    }
  };

  const add = async (e: FormEvent) => {
    e.preventDefault();
    if (!text) {
      setAddError("Enter a title for the task.");
      titleRef.current?.focus();
      return;
    }
    setAdding(true);
    setAddError(null);
    try {
      const p = await parseNow(text);
      setPreview(p);
      if (p.error) {
        setAddError(p.error);
        titleRef.current?.focus();
        return;
      }
      const q = p.parsed;
      const task: NewTask = q
        ? {
            title: q.title,
            description: description.trim() || null,
            due: q.due ?? defaultDue ?? undefined,
            priority: q.priority ?? undefined,
            tags: q.tags.length ? q.tags : undefined,
            list: q.list ?? defaultList ?? undefined,
          }
        : { title: text, description: description.trim() || null, due: defaultDue ?? undefined, list: defaultList ?? undefined };
      const created = await api.create(task);
      setTitle("");
      setDescription("");
      setShowDetails(false);
      setPreview(null);
      await onAdded(created);
      titleRef.current?.focus();
    } catch (err) {
      setAddError(messageOf(err));
    } finally {
      setAdding(false);
    }
  };

  const shown = preview && preview.text === text ? preview : null;
  const q = shown?.parsed;
  const hasChips = !!q && (!!q.due || !!q.priority || q.tags.length > 0 || !!q.list);

  return (
    <form className="add-task" onSubmit={add} noValidate>
      <label htmlFor={`${id}-title`} className="visually-hidden">
        New task
      </label>
      <div className="add-row">
        <input
          id={`${id}-title`}
          ref={titleRef}
          value={title}
          maxLength={300}
          placeholder="Add a task…"
          autoComplete="off"
          onChange={(e) => {
            setTitle(e.target.value);
            setAddError(null);
          }}
          aria-invalid={addError ? true : undefined}
          aria-describedby={[addError ? `${id}-adderr` : null, hasChips ? `${id}-chips` : null, `${id}-syntax`].filter(Boolean).join(" ") || undefined}
        />
        <button type="submit" className="btn btn-primary" disabled={adding}>
          <PlusIcon /> Add
        </button>
      </div>
      {hasChips && q && (
        <ul id={`${id}-chips`} className="quick-chips" aria-label="Will be added with">
          {q.title !== text && (
            <li className="qchip" data-kind="title">
              <span className="visually-hidden">Title: </span>
              {q.title}
            </li>
          )}
          {q.due && (
            <li className="qchip" data-kind="due">
              <CalendarIcon />
              <span className="visually-hidden">Due: </span>
              <DuePreview due={q.due} />
            </li>
          )}
          {q.priority && (
            <li className="qchip" data-kind="priority" data-priority={q.priority}>
              <FlagIcon />
              {PRIORITY_LABEL[q.priority]}
            </li>
          )}
          {q.tags.map((t) => (
            <li key={t} className="qchip" data-kind="tag">
              <HashIcon />
              <span className="visually-hidden">Tag: </span>
              {t}
            </li>
          ))}
          {q.list && (
            <li className="qchip" data-kind="list">
              <ListIcon />
              <span className="visually-hidden">List: </span>
              {q.list}
            </li>
          )}
        </ul>
      )}
      {shown?.error && !addError && <p className="quick-hint">{shown.error}</p>}
      {showDetails && (
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
      )}
      <div className="add-foot">
        {!showDetails && (
          <button type="button" className="link-btn" onClick={() => setShowDetails(true)}>
            Add details
          </button>
        )}
        <span id={`${id}-syntax`} className="quick-syntax" title="A date at the end, #tags, !high, !medium or !low, and ~list or ~&quot;two words&quot;">
          Try “tomorrow 5pm #tag !high ~list”
        </span>
      </div>
      {addError && (
        <p id={`${id}-adderr`} className="inline-error" role="alert">
          {addError}
        </p>
      )}
    </form>
  );
}
