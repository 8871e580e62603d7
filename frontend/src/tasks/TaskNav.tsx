/**
 * The task sidebar: Today (with the overdue count), Upcoming, the Inbox, the user's lists (add, rename,
 * delete), All tasks and the Trash. A column on wide screens, a drawer on narrow ones (TaskPanel decides).
 */
import { forwardRef, useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from "react";
import { ApiError } from "../api/http";
import { INBOX, type Counts, type TaskList } from "../api/tasks";
import { CalendarIcon, InboxIcon, ListIcon, PencilIcon, PlusIcon, StackIcon, SunIcon, TrashIcon } from "../ui/icons";
import { sameSelection, type Selection } from "./selection";

type Props = {
  id: string;
  /** What the panel shows; null while it shows search results. */
  selection: Selection | null;
  counts: Counts | null;
  lists: TaskList[];
  onSelect: (s: Selection) => void;
  onCreateList: (name: string) => Promise<void>;
  onRenameList: (list: TaskList, name: string) => Promise<void>;
  onDeleteList: (list: TaskList) => Promise<void>;
  onKeyDown?: (e: KeyboardEvent) => void;
};

function messageOf(e: unknown): string {
  if (e instanceof ApiError && e.status === 409) return e.detail ?? "A list with that name exists already.";
  return e instanceof ApiError ? e.userMessage : "Something went wrong. Try again.";
}

/** A number after an item's label ("3 pending"); shown when not 0. */
type Badge = { n: number | undefined; label: string; alert?: boolean };

type ItemProps = { icon: ReactNode; label: string; current: boolean; onClick: () => void; badges?: Badge[] };

/** Its accessible name is the label and the counts: "Today, 1 overdue, 2 due". */
function NavItem({ icon, label, current, onClick, badges = [] }: ItemProps) {
  const shown = badges.filter((b): b is Badge & { n: number } => !!b.n);
  return (
    <button
      type="button"
      className="nav-item"
      aria-current={current ? "page" : undefined}
      aria-label={[label, ...shown.map((b) => `${b.n} ${b.label}`)].join(", ")}
      onClick={onClick}
    >
      <span className="nav-icon">{icon}</span>
      <span className="nav-label">{label}</span>
      {shown.map((b) => (
        <span key={b.label} className={`nav-count${b.alert ? " nav-overdue" : ""}`} title={b.alert ? `${b.n} ${b.label}` : undefined} aria-hidden="true">
          {b.n}
        </span>
      ))}
    </button>
  );
}

export const TaskNav = forwardRef<HTMLElement, Props>(function TaskNav(
  { id, selection, counts, lists, onSelect, onCreateList, onRenameList, onDeleteList, onKeyDown },
  ref,
) {
  const inbox = lists.find((l) => l.id === 0);
  const own = lists.filter((l) => l.id !== 0);
  const [adding, setAdding] = useState(false);
  const is = (s: Selection) => !!selection && sameSelection(selection, s);

  return (
    <nav id={id} ref={ref} className="task-nav" aria-label="Task lists" onKeyDown={onKeyDown}>
      <ul className="nav-list">
        <li>
          <NavItem
            icon={<SunIcon />}
            label="Today"
            current={is({ kind: "today" })}
            onClick={() => onSelect({ kind: "today" })}
            badges={[
              { n: counts?.overdue, label: "overdue", alert: true },
              { n: counts?.today, label: "due" },
            ]}
          />
        </li>
        <li>
          <NavItem
            icon={<CalendarIcon />}
            label="Upcoming"
            current={is({ kind: "upcoming" })}
            onClick={() => onSelect({ kind: "upcoming" })}
            badges={[{ n: counts?.upcoming, label: "due" }]}
          />
        </li>
        <li>
          <NavItem
            icon={<InboxIcon />}
            label={INBOX}
            current={is({ kind: "list", name: INBOX })}
            onClick={() => onSelect({ kind: "list", name: INBOX })}
            badges={[{ n: inbox?.pending, label: "pending" }]}
          />
        </li>
      </ul>

      <div className="nav-section">
        <h3 className="nav-heading">Lists</h3>
        <button type="button" className="icon-btn nav-add" aria-label="New list" title="New list" onClick={() => setAdding(true)} aria-expanded={adding}>
          <PlusIcon />
        </button>
      </div>
      <ul className="nav-list">
        {own.map((l) => (
          <ListRow
            key={l.id}
            list={l}
            current={is({ kind: "list", name: l.name })}
            onPick={() => onSelect({ kind: "list", name: l.name })}
            onRename={(name) => onRenameList(l, name)}
            onDelete={() => onDeleteList(l)}
          />
        ))}
        {adding && <NewList onCreate={onCreateList} onDone={() => setAdding(false)} />}
        {own.length === 0 && !adding && <li className="nav-empty muted">No lists yet.</li>}
      </ul>

      <ul className="nav-list nav-foot">
        <li>
          <NavItem
            icon={<StackIcon />}
            label="All tasks"
            current={is({ kind: "all" })}
            onClick={() => onSelect({ kind: "all" })}
            badges={[{ n: counts?.pending, label: "pending" }]}
          />
        </li>
        <li>
          <NavItem icon={<TrashIcon />} label="Trash" current={is({ kind: "trash" })} onClick={() => onSelect({ kind: "trash" })} />
        </li>
      </ul>
    </nav>
  );
});

function NameForm({
  label,
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  label: string;
  initial: string;
  submitLabel: string;
  onSubmit: (name: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [name, setName] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const id = useId();
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    if (!n) {
      setError("Enter a name for the list.");
      return;
    }
    setBusy(true);
    try {
      await onSubmit(n);
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };

  return (
    <form
      className="nav-form"
      onSubmit={submit}
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          e.stopPropagation();
          onCancel();
        }
      }}
    >
      <label className="visually-hidden" htmlFor={id}>
        {label}
      </label>
      <input
        id={id}
        ref={input}
        value={name}
        maxLength={50}
        onChange={(e) => setName(e.target.value)}
        aria-invalid={error ? true : undefined}
      />
      <div className="nav-form-actions">
        <button type="submit" className="btn btn-small btn-primary" disabled={busy}>
          {submitLabel}
        </button>
        <button type="button" className="btn btn-small" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {error && (
        <p className="inline-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function NewList({ onCreate, onDone }: { onCreate: (name: string) => Promise<void>; onDone: () => void }) {
  return (
    <li className="nav-row editing">
      <NameForm
        label="New list name"
        initial=""
        submitLabel="Add"
        onSubmit={async (n) => {
          await onCreate(n);
          onDone();
        }}
        onCancel={onDone}
      />
    </li>
  );
}

type RowProps = { list: TaskList; current: boolean; onPick: () => void; onRename: (name: string) => Promise<void>; onDelete: () => Promise<void> };

function ListRow({ list, current, onPick, onRename, onDelete }: RowProps) {
  const [mode, setMode] = useState<"view" | "rename" | "confirm">("view");
  const [error, setError] = useState<string | null>(null);
  const editBtn = useRef<HTMLButtonElement>(null);
  const confirmBtn = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (mode === "confirm") confirmBtn.current?.focus();
  }, [mode]);

  const back = () => {
    setMode("view");
    setError(null);
    requestAnimationFrame(() => editBtn.current?.focus());
  };

  if (mode === "rename") {
    return (
      <li className="nav-row editing">
        <NameForm
          label={`Rename “${list.name}”`}
          initial={list.name}
          submitLabel="Save"
          onSubmit={async (n) => {
            await onRename(n);
            back();
          }}
          onCancel={back}
        />
      </li>
    );
  }

  if (mode === "confirm") {
    const moved =
      list.total === 0 ? "It has no tasks." : `Its ${list.total === 1 ? "task moves" : `${list.total} tasks move`} to the Inbox.`;
    return (
      <li
        className="nav-row confirming"
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.preventDefault();
            e.stopPropagation();
            back();
          }
        }}
      >
        <p className="nav-confirm-text">
          Delete the list “{list.name}”? {moved}
        </p>
        <div className="nav-form-actions">
          <button
            type="button"
            ref={confirmBtn}
            className="btn btn-small btn-danger"
            onClick={async () => {
              try {
                await onDelete();
              } catch (err) {
                setError(messageOf(err));
              }
            }}
          >
            Delete list
          </button>
          <button type="button" className="btn btn-small" onClick={back}>
            Cancel
          </button>
        </div>
        {error && (
          <p className="inline-error" role="alert">
            {error}
          </p>
        )}
      </li>
    );
  }

  return (
    <li className={`nav-row${current ? " active" : ""}`}>
      <NavItem icon={<ListIcon />} label={list.name} current={current} onClick={onPick} badges={[{ n: list.pending, label: "pending" }]} />
      <div className="nav-row-actions">
        <button type="button" ref={editBtn} className="icon-btn" aria-label={`Rename list “${list.name}”`} title="Rename" onClick={() => setMode("rename")}>
          <PencilIcon />
        </button>
        <button type="button" className="icon-btn danger" aria-label={`Delete list “${list.name}”`} title="Delete" onClick={() => setMode("confirm")}>
          <TrashIcon />
        </button>
      </div>
    </li>
  );
}
