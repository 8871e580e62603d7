/**
 * A task's history in its edit dialog: a collapsed "History" section that loads the task's changes
 * (`GET /api/activity?task_id=N&limit=20`) when first opened, newest first, each with its summary, how
 * long ago (the full time in its tooltip) and where it came from; an undone change is struck through.
 * "Show older" pages on.
 */
import { useEffect, useId, useRef, useState } from "react";
import { ApiError } from "../api/http";
import type { EventPage, EventSource, TaskEvent } from "../api/tasks";
import { ChevronIcon } from "../ui/icons";
import { absoluteTime, relativeTime } from "../ui/time";

/** Changes per page. */
export const HISTORY_PAGE = 20;

export const SOURCE_TEXT: Record<EventSource, string> = {
  ui: "from the app",
  chat: "from chat",
  mcp: "via MCP",
  rest: "via the API",
};

type Props = {
  /** One page of the task's history: the newest, or the one after `cursor`. */
  load: (cursor: string | null, signal?: AbortSignal) => Promise<EventPage>;
};

function messageOf(e: unknown): string {
  return e instanceof ApiError ? e.userMessage : "Something went wrong. Try again.";
}

export function TaskHistory({ load }: Props) {
  const [open, setOpen] = useState(false);
  const [events, setEvents] = useState<TaskEvent[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const section = useRef<HTMLElement>(null);
  /** Bring the history into view once its first page is shown (it opens below the fold). */
  const reveal = useRef(false);
  const id = useId();

  useEffect(() => () => abort.current?.abort(), []);

  useEffect(() => {
    if (!reveal.current || (events === null && !error)) return;
    reveal.current = false;
    const el = section.current;
    const scroller = el?.closest<HTMLElement>(".dialog");
    if (!el || !scroller) return;
    const box = el.getBoundingClientRect();
    const view = scroller.getBoundingClientRect();
    if (box.bottom <= view.bottom) return;
    // Down as far as the end of the history, but never past its heading.
    const by = Math.min(box.bottom - view.bottom + 16, box.top - view.top - 8);
    if (by > 0) scroller.scrollBy?.({ top: by, behavior: window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });
  }, [events, error]);

  const list = useRef<HTMLOListElement>(null);

  /** Loads a page; answers whether older ones follow. */
  const fetchPage = async (cursor: string | null): Promise<boolean> => {
    abort.current?.abort();
    const ac = new AbortController();
    abort.current = ac;
    setLoading(true);
    setError(null);
    try {
      const page = await load(cursor, ac.signal);
      setEvents((prev) => (cursor && prev ? [...prev, ...page.events.filter((e) => !prev.some((p) => p.id === e.id))] : page.events));
      setNext(page.next_cursor);
      return page.next_cursor !== null;
    } catch (e) {
      if (!(e instanceof DOMException && e.name === "AbortError")) setError(messageOf(e));
      return true;
    } finally {
      if (abort.current === ac) setLoading(false);
    }
  };

  const toggle = () => {
    const opening = !open;
    setOpen(opening);
    if (opening) reveal.current = true;
    if (opening && events === null && !loading) void fetchPage(null);
  };

  const now = new Date();
  return (
    <section ref={section} className="task-history" aria-labelledby={`${id}-h`}>
      <h3 className="task-history-head">
        <button type="button" id={`${id}-h`} className="task-history-toggle" aria-expanded={open} aria-controls={`${id}-body`} onClick={toggle}>
          <ChevronIcon />
          History
        </button>
      </h3>
      {open && (
        <div id={`${id}-body`} className="task-history-body" aria-busy={loading || undefined}>
          {loading && events === null && <p className="task-history-note muted">Loading the history…</p>}
          {error && (
            <p className="inline-error task-history-error" role="alert">
              Could not load the history: {error}{" "}
              <button type="button" className="link-btn" onClick={() => void fetchPage(events?.length ? next : null)}>
                Try again
              </button>
            </p>
          )}
          {events !== null && events.length === 0 && !error && <p className="task-history-note muted">No changes recorded yet.</p>}
          {events !== null && events.length > 0 && (
            <ol ref={list} className="task-history-list" aria-label="Changes, newest first" tabIndex={-1}>
              {events.map((e) => (
                <li key={e.id} className="task-history-item" data-kind={e.kind} data-undone={e.undone || undefined}>
                  <span className="task-history-dot" aria-hidden="true" />
                  <div className="task-history-text">
                    <span className="task-history-summary">
                      {e.undone ? <s>{e.summary}</s> : e.summary}
                      {e.undone && <span className="task-history-undone"> (undone)</span>}
                    </span>
                    <span className="task-history-meta">
                      <time dateTime={e.at} title={absoluteTime(e.at)}>
                        {relativeTime(e.at, now)}
                      </time>
                      {" · "}
                      {SOURCE_TEXT[e.source] ?? e.source}
                    </span>
                  </div>
                </li>
              ))}
            </ol>
          )}
          {next && events !== null && (
            <button
              type="button"
              className="btn btn-small task-history-more"
              aria-disabled={loading || undefined}
              onClick={async () => {
                if (loading) return;
                // The button goes with the last page: focus stays in the history.
                if (!(await fetchPage(next))) list.current?.focus();
              }}
            >
              {loading ? "Loading…" : "Show older"}
            </button>
          )}
        </div>
      )}
    </section>
  );
}
