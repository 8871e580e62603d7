/**
 * The task editor: a modal dialog (focus kept inside, Escape closes) with the title, description, due
 * date and time, repeat, priority, list and tags. Save sends one PATCH with only the fields that changed;
 * the server's field errors (422) are shown at their fields.
 */
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { ApiError } from "../api/http";
import { INBOX, type EventPage, type Priority, type Task, type TaskList, type TaskPatch } from "../api/tasks";
import { CloseIcon } from "../ui/icons";
import { PRIORITY_LABEL } from "./chips";
import { TaskHistory } from "./TaskHistory";

/** The repeats the select offers, as RRULE bodies the server understands (shared/src/due.rs). */
export const REPEATS: { rule: string; label: string }[] = [
  { rule: "", label: "Does not repeat" },
  { rule: "FREQ=DAILY", label: "Every day" },
  { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", label: "Every weekday" },
  { rule: "FREQ=WEEKLY", label: "Every week" },
  { rule: "FREQ=WEEKLY;INTERVAL=2", label: "Every 2 weeks" },
  { rule: "FREQ=MONTHLY", label: "Every month" },
  { rule: "FREQ=YEARLY", label: "Every year" },
];

const NEW_LIST = "\u0000new";
const FIELDS = ["title", "description", "due", "priority", "list", "tags"] as const;
type Field = (typeof FIELDS)[number];
type Errors = Partial<Record<Field | "form", string>>;

type Props = {
  task: Task;
  lists: TaskList[];
  onSave: (patch: TaskPatch) => Promise<void>;
  onClose: () => void;
  /** The task's history, a page at a time; without it the dialog has no History section. */
  history?: (cursor: string | null, signal?: AbortSignal) => Promise<EventPage>;
};

const FOCUSABLE = 'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Splits "a, b #c" into tags as the server stores them: lower case, without '#'. */
function tagsOf(raw: string): string[] {
  return raw
    .split(/[\s,]+/)
    .map((t) => t.replace(/^#+/, "").toLowerCase())
    .filter(Boolean);
}

/** Which fields differ from the task: the body of the PATCH, empty when nothing changed. */
export function changes(
  task: Task,
  v: { title: string; description: string; date: string; time: string; rule: string; priority: Priority; list: string; tags: string[] },
): TaskPatch {
  const patch: TaskPatch = {};
  if (v.title.trim() !== task.title) patch.title = v.title.trim();
  const description = v.description.trim() || null;
  if (description !== (task.description ?? null)) patch.description = description;
  const due = task.due;
  if (!v.date) {
    if (due) patch.due = null;
  } else if (!due || v.date !== due.date || v.time !== (due.time ?? "") || v.rule !== (due.recurrence?.rule ?? "")) {
    patch.due = { date: v.date, time: v.time || null, recurrence: v.rule ? { rule: v.rule } : null, ...(due ? { timezone: due.timezone } : {}) };
  }
  if (v.priority !== task.priority) patch.priority = v.priority;
  if (v.list.trim().toLowerCase() !== task.list.toLowerCase()) patch.list = v.list.trim();
  if (v.tags.join("\n") !== task.tags.join("\n")) patch.tags = v.tags;
  return patch;
}

export function EditDialog({ task, lists, onSave, onClose, history }: Props) {
  const [title, setTitle] = useState(task.title);
  const [description, setDescription] = useState(task.description ?? "");
  const [date, setDate] = useState(task.due?.date ?? "");
  const [time, setTime] = useState(task.due?.time ?? "");
  const [rule, setRule] = useState(task.due?.recurrence?.rule ?? "");
  const [priority, setPriority] = useState<Priority>(task.priority);
  const [list, setList] = useState(task.list);
  const [newList, setNewList] = useState<string | null>(null);
  const [tags, setTags] = useState<string[]>(task.tags);
  const [tagDraft, setTagDraft] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const dialog = useRef<HTMLDivElement>(null);
  const titleRef = useRef<HTMLInputElement>(null);
  const tagInput = useRef<HTMLInputElement>(null);
  const id = useId();

  useEffect(() => {
    titleRef.current?.focus();
  }, []);

  // After a refused save, to the first field that needs attention.
  useEffect(() => {
    dialog.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [errors]);

  const repeats = REPEATS.some((r) => r.rule === rule) || !task.due?.recurrence ? REPEATS : [...REPEATS, { rule: task.due.recurrence.rule, label: task.due.recurrence.text }];
  const listNames = [INBOX, ...lists.filter((l) => l.id !== 0).map((l) => l.name)];
  if (!listNames.some((n) => n.toLowerCase() === task.list.toLowerCase())) listNames.push(task.list);

  const addTags = (raw: string) => {
    const fresh = tagsOf(raw).filter((t) => !tags.includes(t));
    if (fresh.length) setTags((prev) => [...prev, ...fresh]);
    setTagDraft("");
  };

  const removeTag = (t: string) => {
    setTags((prev) => prev.filter((x) => x !== t));
    tagInput.current?.focus();
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const allTags = tagDraft.trim() ? [...tags, ...tagsOf(tagDraft).filter((t) => !tags.includes(t))] : tags;
    const found: Errors = {};
    if (!title.trim()) found.title = "The title cannot be empty.";
    if (rule && !date) found.due = "Choose a date for the task to repeat from.";
    if (time && !date) found.due = "Choose a date for the time.";
    if (newList !== null && !newList.trim()) found.list = "Enter a name for the new list.";
    if (allTags.length > 10) found.tags = "A task has at most 10 tags.";
    if (Object.keys(found).length) {
      setErrors(found);
      return;
    }
    const patch = changes(task, { title, description, date, time, rule, priority, list: newList ?? list, tags: allTags });
    if (Object.keys(patch).length === 0) {
      onClose();
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      await onSave(patch);
    } catch (err) {
      if (err instanceof ApiError && err.errors.length) {
        const byField: Errors = {};
        for (const fe of err.errors) {
          const f = (FIELDS as readonly string[]).includes(fe.field) ? (fe.field as Field) : "form";
          byField[f] = byField[f] ? `${byField[f]} ${fe.message}` : fe.message;
        }
        setErrors(byField);
      } else {
        setErrors({ form: err instanceof ApiError ? err.userMessage : "Something went wrong. Try again." });
      }
      setBusy(false);
    }
  };

  // Keep Tab inside the dialog; Escape closes it.
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      onClose();
      return;
    }
    if (e.key !== "Tab" || !dialog.current) return;
    const items = [...dialog.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };

  const err = (f: Field) =>
    errors[f] ? (
      <p id={`${id}-${f}-err`} className="field-error">
        {errors[f]}
      </p>
    ) : null;
  const described = (f: Field) => (errors[f] ? { "aria-invalid": true as const, "aria-describedby": `${id}-${f}-err` } : {});

  return (
    <div className="dialog-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div ref={dialog} className="dialog" role="dialog" aria-modal="true" aria-labelledby={`${id}-h`} onKeyDown={onKeyDown}>
        <form onSubmit={submit} noValidate className="edit-form">
          <header className="dialog-head">
            <h2 id={`${id}-h`}>Edit task</h2>
            <button type="button" className="icon-btn" onClick={onClose} aria-label="Close" title="Close">
              <CloseIcon />
            </button>
          </header>

          <div className="field">
            <label htmlFor={`${id}-t`}>Title</label>
            <input id={`${id}-t`} ref={titleRef} value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} {...described("title")} />
            {err("title")}
          </div>
          <div className="field">
            <label htmlFor={`${id}-d`}>Description</label>
            <textarea id={`${id}-d`} value={description} maxLength={2000} rows={3} onChange={(e) => setDescription(e.target.value)} {...described("description")} />
            {err("description")}
          </div>

          <fieldset className="field-row" aria-describedby={errors.due ? `${id}-due-err` : undefined}>
            <legend className="visually-hidden">Due</legend>
            <div className="field">
              <label htmlFor={`${id}-date`}>Due date</label>
              <input id={`${id}-date`} type="date" value={date} onChange={(e) => setDate(e.target.value)} aria-invalid={errors.due ? true : undefined} />
            </div>
            <div className="field">
              <label htmlFor={`${id}-time`}>
                Time <span className="optional">(optional)</span>
              </label>
              <input id={`${id}-time`} type="time" value={time} onChange={(e) => setTime(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor={`${id}-rep`}>Repeat</label>
              <select id={`${id}-rep`} value={rule} onChange={(e) => setRule(e.target.value)}>
                {repeats.map((r) => (
                  <option key={r.rule} value={r.rule}>
                    {r.label}
                  </option>
                ))}
              </select>
            </div>
          </fieldset>
          {err("due")}
          {date && (
            <button
              type="button"
              className="link-btn"
              onClick={() => {
                setDate("");
                setTime("");
                setRule("");
              }}
            >
              Remove the date
            </button>
          )}

          <div className="field-row">
            <div className="field">
              <label htmlFor={`${id}-p`}>Priority</label>
              <select id={`${id}-p`} value={priority} onChange={(e) => setPriority(e.target.value as Priority)} {...described("priority")}>
                {(["none", "low", "medium", "high"] as const).map((p) => (
                  <option key={p} value={p}>
                    {p === "none" ? "None" : PRIORITY_LABEL[p].replace(" priority", "")}
                  </option>
                ))}
              </select>
              {err("priority")}
            </div>
            <div className="field">
              <label htmlFor={`${id}-l`}>List</label>
              <select
                id={`${id}-l`}
                value={newList !== null ? NEW_LIST : listNames.find((n) => n.toLowerCase() === list.toLowerCase()) ?? list}
                onChange={(e) => {
                  if (e.target.value === NEW_LIST) setNewList("");
                  else {
                    setNewList(null);
                    setList(e.target.value);
                  }
                }}
                {...(newList === null ? described("list") : {})}
              >
                {listNames.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
                <option value={NEW_LIST}>New list…</option>
              </select>
            </div>
          </div>
          {newList !== null && (
            <div className="field">
              <label htmlFor={`${id}-nl`}>New list name</label>
              <input id={`${id}-nl`} value={newList} maxLength={50} autoFocus onChange={(e) => setNewList(e.target.value)} {...described("list")} />
            </div>
          )}
          {err("list")}

          <div className="field">
            <label htmlFor={`${id}-tag`}>Tags</label>
            <div className="tag-editor">
              {tags.length > 0 && (
                <ul className="tag-editor-list" aria-label="Tags">
                  {tags.map((t) => (
                    <li key={t} className="tag-chip editable">
                      #{t}
                      <button type="button" className="tag-remove" onClick={() => removeTag(t)} aria-label={`Remove tag ${t}`} title="Remove">
                        <CloseIcon />
                      </button>
                    </li>
                  ))}
                </ul>
              )}
              <input
                id={`${id}-tag`}
                ref={tagInput}
                value={tagDraft}
                placeholder={tags.length ? "Add another…" : "Add a tag, then Enter"}
                maxLength={40}
                onChange={(e) => {
                  const v = e.target.value;
                  if (/[\s,]$/.test(v)) addTags(v);
                  else setTagDraft(v);
                }}
                onKeyDown={(e) => {
                  if (e.key === "Enter" && tagDraft.trim()) {
                    e.preventDefault();
                    addTags(tagDraft);
                  } else if (e.key === "Backspace" && !tagDraft && tags.length) {
                    setTags((prev) => prev.slice(0, -1));
                  }
                }}
                {...described("tags")}
              />
            </div>
            {err("tags")}
          </div>

          {history && <TaskHistory load={history} />}

          {errors.form && (
            <p className="inline-error" role="alert">
              {errors.form}
            </p>
          )}
          {Object.keys(errors).some((k) => k !== "form") && (
            <p className="visually-hidden" role="alert">
              Some fields need attention.
            </p>
          )}
          <div className="dialog-actions">
            <button type="button" className="btn" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              Save
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
