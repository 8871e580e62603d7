/**
 * The task panel: the sidebar (Today, Upcoming, Inbox, lists, All tasks, Trash), search, quick add, and
 * the tasks of the current selection (complete / reopen, edit in a dialog with the task's history,
 * delete; restore from the trash) through the REST API. Each change the user makes here is confirmed
 * in a toast with Undo (`POST /api/undo`), whose answer is a toast with Undo again (which redoes).
 */
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { ApiError } from "../api/http";
import { TRASH_DAYS, type Counts, type Task, type TaskEvent, type TaskFilter, type TaskList, type TaskPatch, type TasksApi } from "../api/tasks";
import { CloseIcon, MenuIcon, SearchIcon } from "../ui/icons";
import { Toast, type ToastData, type ToastTone } from "../ui/Toast";
import { useDebounced } from "../ui/useDebounced";
import { EditDialog } from "./EditDialog";
import { HISTORY_PAGE } from "./TaskHistory";
import { QuickAdd } from "./QuickAdd";
import { ALL, isDateView, isTrash, sameSelection, selectionList, selectionQuery, selectionTitle, type Selection } from "./selection";
import { TaskNav } from "./TaskNav";
import { TaskRow } from "./TaskRow";
import { TrashRow } from "./TrashRow";

const FILTERS: { value: TaskFilter; label: string }[] = [
  { value: "all", label: "All" },
  { value: "pending", label: "Pending" },
  { value: "completed", label: "Completed" },
];

const PAGE = 100;
/** How long the search field must stay unchanged before it searches. */
export const SEARCH_DELAY_MS = 250;

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

/** A sentence ends with a full stop (the server's summaries and details have none). */
function sentence(text: string): string {
  return /[.!?…]$/.test(text) ? text : `${text}.`;
}

type Known = Map<number, { summary: string; undoes: number | null }>;

/**
 * What an undo did, in words: "Undone: Deleted “Buy milk”." — or, when it reversed an undo this panel
 * saw, "Redone: Deleted “Buy milk”." (an undo of an undo of a change redoes that change).
 */
export function undoneText(undone: TaskEvent[], known: Known): string {
  const first = undone[0];
  if (!first) return "Nothing was changed.";
  let summary = first.summary;
  let redo = false;
  let at: { summary: string; undoes: number | null } | undefined = { summary: first.summary, undoes: first.undoes };
  for (let n = 0; at && at.undoes !== null && n < 50; n++) {
    at = known.get(at.undoes);
    redo = !redo;
    if (at && at.undoes === null) summary = at.summary;
  }
  if (!at || at.undoes !== null) {
    // A chain that began before this panel saw it: say what the server says.
    summary = first.summary;
    redo = false;
  }
  const more = undone.length > 1 ? ` and ${undone.length - 1} more change${undone.length > 2 ? "s" : ""}` : "";
  return sentence(`${redo ? "Redone" : "Undone"}: ${summary}${more}`);
}

function emptyText(sel: Selection, filter: TaskFilter, q: string): string {
  if (q) return `No tasks match “${q}”.`;
  if (sel.kind === "trash") return "Trash is empty";
  if (sel.kind === "today") return "Nothing due today. Enjoy the day!";
  if (sel.kind === "upcoming") return "Nothing due in the next 7 days.";
  if (filter === "pending") return "Nothing pending. Nice!";
  if (filter === "completed") return "No completed tasks yet.";
  if (sel.kind === "list") return "No tasks on this list yet. Add one here.";
  if (sel.kind === "tag") return `No tasks tagged #${sel.tag}.`;
  return "No tasks yet. Add one here or ask the assistant.";
}

export function TaskPanel({ api, refreshKey }: Props) {
  const [selection, setSelection] = useState<Selection>(ALL);
  const [filter, setFilter] = useState<TaskFilter>("all");
  const [search, setSearch] = useState("");
  const [tasks, setTasks] = useState<Task[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [toast, setToast] = useState<ToastData | null>(null);
  const [undoing, setUndoing] = useState(false);
  const toastSeq = useRef(0);
  /** The events undo answered, to tell an undo from a redo. */
  const known = useRef<Known>(new Map());
  /** Shown after adding a task that the current view does not show (so it does not seem lost). */
  const [notice, setNotice] = useState<string | null>(null);
  const [counts, setCounts] = useState<Counts | null>(null);
  const [lists, setLists] = useState<TaskList[]>([]);
  const [navOpen, setNavOpen] = useState(false);
  const [editing, setEditing] = useState<Task | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const navRef = useRef<HTMLElement>(null);
  const navToggle = useRef<HTMLButtonElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const editOpener = useRef<HTMLElement | null>(null);
  const loadRef = useRef<AbortController | null>(null);
  const id = useId();
  const q = useDebounced(search.trim(), SEARCH_DELAY_MS);
  const searching = q !== "";
  const effectiveStatus: TaskFilter = searching ? "all" : isDateView(selection) ? "pending" : filter;
  const trash = !searching && isTrash(selection);

  const load = useCallback(
    async (cursor: string | null = null) => {
      if (!cursor) loadRef.current?.abort();
      const ac = new AbortController();
      if (!cursor) loadRef.current = ac;
      const query = searching ? { q, status: "all" as const } : selectionQuery(selection, filter);
      try {
        const page = !searching && isTrash(selection)
          ? await api.trash({ limit: PAGE, cursor }, ac.signal)
          : await api.list({ ...query, limit: PAGE, cursor }, ac.signal);
        setTasks((prev) => (cursor ? [...prev, ...page.tasks.filter((t) => !prev.some((p) => p.id === t.id))] : page.tasks));
        setNext(page.next_cursor);
        setError(null);
        return page.tasks;
      } catch (e) {
        if (!isAbort(e)) setError(`Could not load tasks: ${messageOf(e)}`);
        return null;
      } finally {
        setLoaded(true);
      }
    },
    [api, searching, q, selection, filter],
  );

  /** The sidebar's numbers and lists. Without them the sidebar shows no counts; nothing else changes. */
  const loadMeta = useCallback(async () => {
    const [c, l] = await Promise.allSettled([api.counts(), api.lists()]);
    if (c.status === "fulfilled") setCounts(c.value);
    if (l.status === "fulfilled") setLists(l.value);
  }, [api]);

  useEffect(() => {
    void load();
  }, [load, refreshKey]);

  useEffect(() => {
    void loadMeta();
  }, [loadMeta, refreshKey]);

  useEffect(() => () => loadRef.current?.abort(), []);

  // The chat changed tasks: its change is now the latest, so an Undo offered for ours would undo that.
  const firstRefresh = useRef(refreshKey);
  useEffect(() => {
    if (refreshKey !== firstRefresh.current) setToast(null);
  }, [refreshKey]);

  const notify = useCallback((message: string, tone: ToastTone = "done", undo = true) => {
    setToast({ id: ++toastSeq.current, message: sentence(message), tone, undo });
  }, []);
  const dismissToast = useCallback(() => setToast(null), []);
  const focusHeading = useCallback(() => headingRef.current?.focus(), []);

  const undo = useCallback(async () => {
    if (undoing) return;
    setUndoing(true);
    try {
      const { undone } = await api.undo();
      for (const e of undone) known.current.set(e.id, { summary: e.summary, undoes: e.undoes });
      notify(undoneText(undone, known.current), "undone", true);
      setError(null);
      void load();
      void loadMeta();
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        // Nothing changed, but what is shown may be older than what the server has.
        notify(`Couldn’t undo: ${e.detail ?? e.title}`, "error", false);
        void load();
        void loadMeta();
      } else if (e instanceof ApiError && e.status === 429) {
        // Nothing changed: Undo stays, to try again.
        const wait = e.retryAfter ? `in ${e.retryAfter} s` : "in a moment";
        notify(`Too many changes just now. Try again ${wait}`, "error", true);
      } else {
        notify(`Couldn’t undo: ${messageOf(e)}`, "error", false);
      }
    } finally {
      setUndoing(false);
    }
  }, [undoing, api, notify, load, loadMeta]);

  // The drawer (narrow screens): focus moves into it when it opens.
  useEffect(() => {
    if (!navOpen) return;
    const raf = requestAnimationFrame(() => {
      const nav = navRef.current;
      (nav?.querySelector<HTMLButtonElement>('[aria-current="page"]') ?? nav?.querySelector<HTMLButtonElement>("button"))?.focus();
    });
    return () => cancelAnimationFrame(raf);
  }, [navOpen]);

  const closeNav = () => {
    setNavOpen(false);
    navToggle.current?.focus();
  };

  /** After a change: the task's new state in place (or gone from this view), then the server's view of it. */
  const changed = (t: Task | null, gone?: Task) => {
    if (t) setTasks((prev) => (effectiveStatus === "all" || (effectiveStatus === "completed") === t.completed ? prev.map((p) => (p.id === t.id ? t : p)) : prev.filter((p) => p.id !== t.id)));
    if (gone) setTasks((prev) => prev.filter((p) => p.id !== gone.id));
    void load();
    void loadMeta();
  };

  const select = (s: Selection) => {
    setSelection(s);
    setNotice(null);
    setSearch("");
    setNavOpen(false);
    requestAnimationFrame(() => headingRef.current?.focus());
  };

  const toggle = async (t: Task) => {
    try {
      const recurring = !t.completed && t.due?.recurrence;
      const updated = t.completed ? await api.reopen(t.id) : await api.complete(t.id, recurring ? t.due?.date : undefined);
      changed(updated);
      notify(
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

  const save = async (t: Task, patch: TaskPatch) => {
    const updated = await api.update(t.id, patch);
    closeEditor();
    changed(updated);
    notify(`Saved “${updated.title}”.`);
  };

  const remove = async (t: Task) => {
    try {
      await api.remove(t.id);
      changed(null, t);
      notify(`Deleted “${t.title}”.`);
      setError(null);
      headingRef.current?.focus();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const restore = async (t: Task) => {
    try {
      const back = await api.restore(t.id);
      changed(null, t);
      notify(`Restored “${back.title}”.`);
      setError(null);
      headingRef.current?.focus();
    } catch (err) {
      // Gone from the trash meanwhile (restored elsewhere, or its 30 days are over): show what is left.
      await load();
      setError(messageOf(err));
    }
  };

  const openEditor = (t: Task, opener: HTMLElement) => {
    editOpener.current = opener;
    setEditing(t);
  };

  const closeEditor = () => {
    setEditing(null);
    const opener = editOpener.current;
    requestAnimationFrame(() => (opener?.isConnected ? opener : headingRef.current)?.focus());
  };

  const createList = async (name: string) => {
    const l = await api.createList(name);
    await loadMeta();
    notify(`Added the list “${l.name}”.`, "done", false);
  };

  const renameList = async (l: TaskList, name: string) => {
    const renamed = await api.renameList(l.id, name);
    if (sameSelection(selection, { kind: "list", name: l.name })) setSelection({ kind: "list", name: renamed.name });
    await loadMeta();
    notify(`Renamed the list to “${renamed.name}”.`, "done", false);
  };

  const deleteList = async (l: TaskList) => {
    await api.deleteList(l.id);
    if (sameSelection(selection, { kind: "list", name: l.name })) setSelection({ kind: "list", name: "Inbox" });
    else void load();
    await loadMeta();
    notify(`Deleted the list “${l.name}”; its tasks are in the Inbox.`, "done", false);
    headingRef.current?.focus();
  };

  const clearSearch = () => {
    setSearch("");
    searchRef.current?.focus();
  };

  const pending = tasks.filter((t) => !t.completed).length;
  const done = tasks.length - pending;
  const more = next ? "+" : "";
  const summary = searching
    ? `${tasks.length}${more} found`
    : trash
      ? `${tasks.length}${more} in the trash`
      : effectiveStatus === "all"
        ? `${pending} pending · ${done} done`
        : `${tasks.length}${more} ${effectiveStatus}`;
  const title = searching ? `Results for “${q}”` : selectionTitle(selection);
  const showList = (t: Task) => searching || selection.kind !== "list" || selection.name.toLowerCase() !== t.list.toLowerCase();
  const navId = `${id}-nav`;

  return (
    <div className="tasks" data-nav-open={navOpen || undefined} data-toast={toast ? "" : undefined}>
      <TaskNav
        id={navId}
        ref={navRef}
        selection={searching ? null : selection}
        counts={counts}
        lists={lists}
        onSelect={select}
        onCreateList={createList}
        onRenameList={renameList}
        onDeleteList={deleteList}
        onKeyDown={(e) => {
          if (e.key === "Escape" && navOpen) {
            e.preventDefault();
            closeNav();
          }
        }}
      />
      {navOpen && <div className="scrim" onClick={closeNav} aria-hidden="true" />}

      <div className="tasks-main">
        <div className="tasks-head">
          <button
            type="button"
            ref={navToggle}
            className="icon-btn nav-toggle"
            aria-expanded={navOpen}
            aria-controls={navId}
            onClick={() => setNavOpen((o) => !o)}
            aria-label="Task lists"
            title="Task lists"
          >
            <MenuIcon />
          </button>
          <h2 ref={headingRef} tabIndex={-1} id={`${id}-h`}>
            {title}
          </h2>
          {loaded && <span className="tasks-summary">{summary}</span>}
        </div>

        <div className="search" role="search">
          <SearchIcon />
          <label htmlFor={`${id}-q`} className="visually-hidden">
            Search tasks
          </label>
          <input
            id={`${id}-q`}
            ref={searchRef}
            type="search"
            value={search}
            placeholder="Search tasks"
            autoComplete="off"
            onChange={(e) => setSearch(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape" && search) {
                e.preventDefault();
                clearSearch();
              }
            }}
          />
        </div>

        {searching ? (
          <div className="scope-bar">
            <span>
              Searching all tasks for <strong>“{q}”</strong>
            </span>
            <button type="button" className="btn btn-small" onClick={clearSearch}>
              <CloseIcon /> Clear search
            </button>
          </div>
        ) : trash ? (
          <p className="trash-note muted">Deleted tasks stay here for {TRASH_DAYS} days, then they are gone for good.</p>
        ) : (
          <>
            {selection.kind === "tag" && (
              <div className="scope-bar">
                <span>
                  Tasks tagged <strong>#{selection.tag}</strong>
                </span>
                <button type="button" className="btn btn-small" onClick={() => select(ALL)}>
                  <CloseIcon /> Show all tasks
                </button>
              </div>
            )}
            {!isDateView(selection) && (
              <div className="filters" role="group" aria-label="Show tasks">
                {FILTERS.map((f) => (
                  <button key={f.value} type="button" className="filter" aria-pressed={filter === f.value} onClick={() => setFilter(f.value)}>
                    {f.label}
                  </button>
                ))}
              </div>
            )}
            <QuickAdd
              api={api}
              defaultList={selectionList(selection)}
              defaultDue={selection.kind === "today" ? "today" : null}
              onAdded={async (task) => {
                notify(`Added “${task.title}”.`);
                const [shown] = await Promise.all([load(), loadMeta()]);
                const where = task.due ? `${task.list}, due ${task.due.text}` : task.list;
                setNotice(shown && !shown.some((t) => t.id === task.id) ? `Added “${task.title}” (${where}); it is not shown here.` : null);
              }}
            />
          </>
        )}

        {error && (
          <p className="inline-error" role="alert">
            {error}
          </p>
        )}
        {notice && <p className="notice">{notice}</p>}

        {loaded && tasks.length === 0 && !error ? (
          <p className="tasks-empty muted">{emptyText(selection, effectiveStatus, q)}</p>
        ) : trash ? (
          <ul className="task-list" aria-labelledby={`${id}-h`}>
            {tasks.map((t) => (
              <TrashRow key={t.id} task={t} onRestore={() => restore(t)} />
            ))}
          </ul>
        ) : (
          <ul className="task-list" aria-labelledby={`${id}-h`}>
            {tasks.map((t) => (
              <TaskRow
                key={t.id}
                task={t}
                showList={showList(t)}
                onToggle={() => toggle(t)}
                onEdit={(opener) => openEditor(t, opener)}
                onDelete={() => remove(t)}
                onTag={(tag) => select({ kind: "tag", tag })}
              />
            ))}
          </ul>
        )}
        {next && (
          <button type="button" className="btn btn-block" onClick={() => load(next)}>
            Load more
          </button>
        )}
      </div>

      <Toast toast={toast} busy={undoing} onUndo={() => void undo()} onDismiss={dismissToast} onFocusLost={focusHeading} />

      {editing && (
        <EditDialog
          task={editing}
          lists={lists}
          onSave={(patch) => save(editing, patch)}
          onClose={closeEditor}
          history={(cursor, signal) => api.activity({ task_id: editing.id, limit: HISTORY_PAGE, cursor }, signal)}
        />
      )}
    </div>
  );
}
