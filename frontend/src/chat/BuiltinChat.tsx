/**
 * The built-in chat UI: speaks the ChatKit protocol to `/chatkit` with `fetch` and a streaming SSE parser.
 * No third-party scripts. Streams replies as they arrive, shows tool activity, lists the user's threads,
 * resumes the last one after a reload and offers a retry after an error.
 *
 * Each turn is sent with an `Idempotency-Key`, reused by every resend of it. When a stream drops, the
 * thread is reloaded to see what the server stored: the reply (shown), a turn still running (polled), or
 * the message unanswered or missing (Retry resends it with the same key).
 *
 * A question the assistant asks before changing several tasks shows its choices as buttons; pressing one
 * answers it (`threads.add_structured_input`), a turn like a typed message.
 */
import { useCallback, useEffect, useId, useLayoutEffect, useReducer, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { ApiError } from "../api/http";
import { newIdempotencyKey, turnStatus, type ChatKitClient, type StreamEvent, type Thread } from "../api/chatkit";
import {
  answerRequest,
  chatReducer,
  initialChatState,
  openQuestion,
  requestOf,
  turnRequest,
  type ChatMessage,
  type TurnRequest,
} from "./chatState";
import { loadLastThread, saveLastThread } from "./lastThread";
import { Markdown } from "./Markdown";
import { SUGGESTIONS } from "./suggestions";
import { MenuIcon, PencilIcon, PlusIcon, RetryIcon, SendIcon, SparkIcon, TrashIcon } from "../ui/icons";


type Props = {
  client: ChatKitClient;
  /** The signed-in user (keys the remembered thread). */
  user: string;
  /** Called when the assistant changed tasks (`tasks_changed` effect) and after every finished turn. */
  onTasksChanged: () => void;
  /** Shown above the conversation, e.g. why ChatKit is not used. */
  notice?: string | null;
  /** How often a thread whose reply is still being written is reloaded (ms). */
  pollMs?: number;
};

function isAbort(e: unknown) {
  return e instanceof DOMException && e.name === "AbortError";
}

function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.userMessage;
  if (e instanceof Error && e.message) return e.message;
  return "Something went wrong.";
}

function threadTitle(t: Thread | undefined): string {
  return t?.title?.trim() || "New conversation";
}

function shortDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const today = new Date();
  return d.toDateString() === today.toDateString()
    ? d.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" })
    : d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function BuiltinChat({ client, user, onTasksChanged, notice, pollMs = 2000 }: Props) {
  const [state, dispatch] = useReducer(chatReducer, initialChatState);
  const [threads, setThreads] = useState<Thread[]>([]);
  const [threadsLoaded, setThreadsLoaded] = useState(false);
  const [loadingThread, setLoadingThread] = useState(true);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const [historyOpen, setHistoryOpen] = useState(false);
  const streamRef = useRef<AbortController | null>(null);
  const loadRef = useRef<AbortController | null>(null);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const toggleRef = useRef<HTMLButtonElement>(null);
  const navRef = useRef<HTMLElement>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const stateRef = useRef(state);
  stateRef.current = state;
  const loadingRef = useRef(loadingThread);
  loadingRef.current = loadingThread;
  const localKey = useRef(0);
  const onTasksChangedRef = useRef(onTasksChanged);
  onTasksChangedRef.current = onTasksChanged;
  const ids = useId();

  const refreshThreads = useCallback(async (): Promise<Thread[]> => {
    try {
      const page = await client.listThreads(50);
      setThreads(page.data);
      return page.data;
    } catch {
      // the list is secondary; the conversation still works
      return [];
    } finally {
      setThreadsLoaded(true);
    }
  }, [client]);

  const upsertThread = useCallback((t: Thread) => {
    setThreads((prev) => {
      const at = prev.findIndex((x) => x.id === t.id);
      if (at === -1) return [t, ...prev];
      const next = prev.slice();
      next[at] = { ...prev[at], ...t };
      return next;
    });
  }, []);

  const openThread = useCallback(
    async (threadId: string, opts: { remembered?: boolean } = {}) => {
      streamRef.current?.abort();
      loadRef.current?.abort();
      const ac = new AbortController();
      loadRef.current = ac;
      setLoadingThread(true);
      setLoadError(null);
      try {
        const { thread, items } = await client.loadThread(threadId, ac.signal);
        stickToBottom.current = true;
        dispatch({ type: "loaded", thread, items });
        saveLastThread(user, thread.id);
      } catch (e) {
        if (isAbort(e)) return;
        if (e instanceof ApiError && e.status === 404) {
          // Deleted meanwhile (or never this user's): start afresh.
          saveLastThread(user, null);
          dispatch({ type: "reset" });
          if (!opts.remembered) setLoadError("That conversation no longer exists.");
        } else {
          setLoadError(`Could not load the conversation: ${messageOf(e)}`);
        }
      } finally {
        if (loadRef.current === ac) {
          loadRef.current = null;
          setLoadingThread(false);
        }
      }
    },
    [client, user],
  );

  // Resume the last thread of this user (remembered by this browser, else their newest one, so the
  // conversation follows the user to a new device), and list their threads.
  useEffect(() => {
    const last = loadLastThread(user);
    if (last) void openThread(last, { remembered: true });
    const listing = refreshThreads();
    if (!last) {
      void listing.then((threads) => {
        if (threads[0]) void openThread(threads[0].id, { remembered: true });
        else setLoadingThread(false);
      });
    }
    return () => {
      streamRef.current?.abort();
      loadRef.current?.abort();
    };
  }, [user, openThread, refreshThreads]);

  useEffect(() => {
    if (state.threadId) saveLastThread(user, state.threadId);
  }, [state.threadId, user]);

  // The conversations drawer (narrow screens): focus moves into it when it opens.
  useEffect(() => {
    if (!historyOpen) return;
    // After the frame that makes the drawer visible (a hidden element cannot take focus).
    const raf = requestAnimationFrame(() => navRef.current?.querySelector<HTMLButtonElement>("button")?.focus());
    return () => cancelAnimationFrame(raf);
  }, [historyOpen]);

  const closeHistory = () => {
    setHistoryOpen(false);
    toggleRef.current?.focus();
  };

  // On a wide screen the composer is where the user starts; on a phone, focusing it would pop up the keyboard.
  useEffect(() => {
    if (window.matchMedia?.("(min-width: 821px)").matches) composerRef.current?.focus();
  }, []);

  // Keep the newest message in view unless the reader scrolled up.
  useLayoutEffect(() => {
    const log = logRef.current;
    if (log && stickToBottom.current) log.scrollTop = log.scrollHeight;
  }, [state.messages, state.progress, state.busy, state.error]);

  const onLogScroll = () => {
    const log = logRef.current;
    if (log) stickToBottom.current = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  };

  /** After a refused turn (409: e.g. a retry of a message that is no longer the newest): the server's view. */
  const refreshThread = useCallback(
    async (threadId: string) => {
      try {
        const { thread, items } = await client.loadThread(threadId);
        dispatch({ type: "refreshed", thread, items });
      } catch {
        // the error is already shown; the next action reloads anyway
      }
    },
    [client],
  );

  const runStream = useCallback(
    async (request: TurnRequest) => {
      const ac = new AbortController();
      streamRef.current = ac;
      stickToBottom.current = true;
      try {
        await client.stream(
          request.op,
          request.params,
          (event: StreamEvent) => {
            dispatch({ type: "event", event });
            if (event.type === "client_effect" && event.name === "tasks_changed") onTasksChangedRef.current();
            if (event.type === "thread.created" || event.type === "thread.updated") upsertThread(event.thread);
          },
          { signal: ac.signal, idempotencyKey: request.key },
        );
        if (!ac.signal.aborted) dispatch({ type: "finished" });
      } catch (e) {
        if (isAbort(e) || ac.signal.aborted) return;
        if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
          // Refused: nothing ran. 408 / 429 may pass later; the rest will not.
          dispatch({ type: "rejected", message: messageOf(e), retryable: e.status === 408 || e.status === 429 });
          // A conflict (the conversation moved on; a question already answered or expired), or a question
          // the server does not know: show what the server has.
          const threadId = request.params.thread_id;
          const stale = e.status === 409 || (e.status === 404 && request.op === "threads.add_structured_input");
          if (stale && typeof threadId === "string") void refreshThread(threadId);
        } else {
          // No verdict (network, 5xx, a body that is not an event stream): the thread tells what happened.
          dispatch({ type: "dropped", message: messageOf(e) });
        }
      } finally {
        if (streamRef.current === ac) streamRef.current = null;
        if (!ac.signal.aborted) {
          onTasksChangedRef.current();
          void refreshThreads();
        }
      }
    },
    [client, refreshThreads, refreshThread, upsertThread],
  );

  // After a dropped stream (or on opening a thread whose reply is still being written): reload the
  // thread, at once when checking, after `pollMs` while waiting; the reducer decides what it shows.
  const recovering = state.recovering;
  const recoveringThread = state.threadId;
  useEffect(() => {
    if (!recovering || !recoveringThread) return;
    const ac = new AbortController();
    const timer = setTimeout(
      async () => {
        try {
          const { thread, items } = await client.loadThread(recoveringThread, ac.signal);
          if (ac.signal.aborted) return;
          dispatch({ type: "reconciled", thread, items });
          if (turnStatus(thread) !== "running") {
            // The turn ended (here or elsewhere): its tools may have changed tasks, and its thread its title.
            onTasksChangedRef.current();
            void refreshThreads();
          }
        } catch (e) {
          if (isAbort(e) || ac.signal.aborted) return;
          const gone = e instanceof ApiError && e.status === 404;
          dispatch({
            type: "reconcileFailed",
            message: gone ? "That conversation no longer exists." : `Could not check whether the reply arrived: ${messageOf(e)}`,
            retryable: !gone,
          });
        }
      },
      recovering.phase === "waiting" ? pollMs : 0,
    );
    return () => {
      clearTimeout(timer);
      ac.abort();
    };
  }, [recovering, recoveringThread, client, pollMs, refreshThreads]);

  const sendText = useCallback(
    (raw: string) => {
      const text = raw.trim();
      const s = stateRef.current;
      if (!text || s.busy || loadingRef.current) return;
      const request = turnRequest(s.threadId, text, newIdempotencyKey());
      dispatch({ type: "send", text, localKey: `local-${++localKey.current}`, request });
      setLoadError(null);
      void runStream(request);
    },
    [runStream],
  );

  /** Answers the open question with one of its choices: a turn whose message is the choice. */
  const answer = useCallback(
    (m: ChatMessage, value: string) => {
      const s = stateRef.current;
      if (!m.id || !m.question || !s.threadId || s.busy || loadingRef.current) return;
      const request = answerRequest(s.threadId, m.id, m.question, value, newIdempotencyKey());
      dispatch({ type: "send", text: value, localKey: `local-${++localKey.current}`, request });
      setLoadError(null);
      void runStream(request);
      composerRef.current?.focus();
    },
    [runStream],
  );

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (!draft.trim() || state.busy || loadingThread) return;
    sendText(draft);
    setDraft("");
    composerRef.current?.focus();
  };

  const onComposerKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      onSubmit(e);
    }
  };

  const retry = () => {
    const plan = state.error?.retry;
    if (!plan || state.busy) return;
    dispatch({ type: "retry", plan });
    const request = requestOf(plan);
    if (request) void runStream(request);
    composerRef.current?.focus();
  };

  const newChat = () => {
    streamRef.current?.abort();
    loadRef.current?.abort();
    setLoadingThread(false);
    setLoadError(null);
    dispatch({ type: "reset" });
    saveLastThread(user, null);
    setHistoryOpen(false);
    composerRef.current?.focus();
  };

  const pickThread = (id: string) => {
    setHistoryOpen(false);
    if (id !== state.threadId || loadError) void openThread(id);
    composerRef.current?.focus();
  };

  const renameThread = async (id: string, title: string) => {
    const t = await client.renameThread(id, title);
    upsertThread(t);
  };

  const deleteThread = async (id: string) => {
    await client.deleteThread(id);
    setThreads((prev) => prev.filter((t) => t.id !== id));
    if (id === stateRef.current.threadId) newChat();
  };

  // Grow the composer with its content, up to a limit.
  useLayoutEffect(() => {
    const el = composerRef.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 180)}px`;
  }, [draft]);

  const current = threads.find((t) => t.id === state.threadId);
  const streamingNow = state.messages.some((m) => m.streaming);
  const asking = openQuestion(state.messages);
  const historyId = `${ids}-history`;
  const empty = !loadingThread && state.messages.length === 0;

  return (
    <div className="chat" data-history-open={historyOpen || undefined}>
      <nav
        id={historyId}
        ref={navRef}
        className="threads"
        aria-label="Conversations"
        onKeyDown={(e) => {
          if (e.key === "Escape" && historyOpen) {
            e.preventDefault();
            closeHistory();
          }
        }}
      >
        <div className="threads-head">
          <button type="button" className="btn btn-small" onClick={newChat}>
            <PlusIcon /> New chat
          </button>
          <h2>Conversations</h2>
        </div>
        {threadsLoaded && threads.length === 0 ? (
          <p className="muted threads-empty">No conversations yet.</p>
        ) : (
          <ul className="thread-list">
            {threads.map((t) => (
              <ThreadRow
                key={t.id}
                thread={t}
                active={t.id === state.threadId}
                disabled={state.busy && !state.recovering}
                onPick={() => pickThread(t.id)}
                onRename={(title) => renameThread(t.id, title)}
                onDelete={() => deleteThread(t.id)}
              />
            ))}
          </ul>
        )}
      </nav>
      {historyOpen && <div className="scrim" onClick={closeHistory} aria-hidden="true" />}

      <section className="conversation" aria-labelledby={`${ids}-title`}>
        <header className="conversation-head">
          <button
            type="button"
            ref={toggleRef}
            className="icon-btn history-toggle"
            aria-expanded={historyOpen}
            aria-controls={historyId}
            onClick={() => setHistoryOpen((o) => !o)}
            aria-label="Conversations"
            title="Conversations"
          >
            <MenuIcon />
          </button>
          <h2 id={`${ids}-title`} className="conversation-title">
            {state.threadId ? threadTitle(current) : "New conversation"}
          </h2>
          <button type="button" className="icon-btn new-chat-compact" onClick={newChat} aria-label="New chat" title="New chat">
            <PlusIcon />
          </button>
        </header>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}

        <div
          ref={logRef}
          className="log"
          role="log"
          aria-live="polite"
          aria-busy={state.busy || loadingThread}
          aria-label="Messages"
          tabIndex={0}
          onScroll={onLogScroll}
        >
          {loadingThread && <p className="muted center">Loading conversation…</p>}
          {loadError && (
            <p className="inline-error" role="alert">
              {loadError}
            </p>
          )}
          {empty && (
            <div className="empty-chat">
              <div className="empty-icon">
                <SparkIcon />
              </div>
              <h3>What needs doing?</h3>
              <p className="muted">Tell me in your own words. I can add, list, complete, change and delete tasks.</p>
              <div className="suggestions">
                {SUGGESTIONS.map((s) => (
                  <button key={s} type="button" className="chip" onClick={() => sendText(s)} disabled={state.busy}>
                    {s}
                  </button>
                ))}
              </div>
            </div>
          )}
          {state.messages.map((m) =>
            m.role === "question" ? (
              <QuestionCard
                key={m.key}
                message={m}
                open={m === asking}
                disabled={state.busy || loadingThread}
                onAnswer={(value) => answer(m, value)}
              />
            ) : (
              <Message key={m.key} message={m} />
            ),
          )}
          {state.busy && !streamingNow && (
            <div className="progress" role="status">
              <span className="dots" aria-hidden="true">
                <i />
                <i />
                <i />
              </span>
              {state.recovering?.phase === "checking"
                ? "Checking whether the reply arrived…"
                : state.recovering?.phase === "waiting"
                  ? "Still answering…"
                  : (state.progress ?? "Thinking…")}
            </div>
          )}
          {state.busy && streamingNow && state.progress && (
            <div className="progress" role="status">
              {state.progress}
            </div>
          )}
        </div>

        {state.error && (
          <div className="chat-error" role="alert">
            <span>{state.error.message}</span>
            {state.error.retry && (
              <button type="button" className="btn btn-small" onClick={retry} disabled={state.busy}>
                <RetryIcon /> Retry
              </button>
            )}
          </div>
        )}

        <form className="composer" onSubmit={onSubmit}>
          <label htmlFor={`${ids}-composer`} className="visually-hidden">
            Message
          </label>
          <textarea
            id={`${ids}-composer`}
            ref={composerRef}
            rows={1}
            value={draft}
            maxLength={4000}
            placeholder="Ask me to add or change tasks…"
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={onComposerKey}
            aria-describedby={`${ids}-hint`}
          />
          <span id={`${ids}-hint`} className="visually-hidden">
            Enter sends, Shift+Enter adds a new line.
          </span>
          <button type="submit" className="send-btn" disabled={state.busy || loadingThread || !draft.trim()} aria-label="Send" title="Send">
            <SendIcon />
          </button>
        </form>
      </section>
    </div>
  );
}

function Message({ message }: { message: ChatMessage }) {
  const text = message.parts.filter((p) => p !== "").join("\n\n");
  const mine = message.role === "user";
  return (
    <article
      className={`msg ${mine ? "msg-user" : "msg-assistant"}`}
      data-role={message.role}
      data-streaming={message.streaming || undefined}
      aria-busy={message.streaming || undefined}
    >
      <span className="visually-hidden">{mine ? "You said:" : "Assistant:"}</span>
      <div className="bubble">
        {mine ? (
          <p className="plain">{text}</p>
        ) : text ? (
          <Markdown text={text} />
        ) : (
          <span className="dots" aria-hidden="true">
            <i />
            <i />
            <i />
          </span>
        )}
      </div>
    </article>
  );
}

type QuestionProps = {
  message: ChatMessage;
  /** The newest question still open: it shows its choices. */
  open: boolean;
  /** A turn is running (or the thread loading): the choices wait. */
  disabled: boolean;
  onAnswer: (value: string) => void;
};

/** A question of the assistant: its choices while open; once closed, what was answered, muted. */
function QuestionCard({ message, open, disabled, onAnswer }: QuestionProps) {
  const id = useId();
  const q = message.question!;
  if (!open) {
    const outcome = q.status === "answered" ? q.answer || "answered" : "not answered";
    return (
      <article className="msg msg-question" data-role="question" data-status={q.status === "pending" ? "skipped" : q.status}>
        <p className="question-closed">
          {q.text} <span className="question-outcome">— {outcome}</span>
        </p>
      </article>
    );
  }
  return (
    <article className="msg msg-question" data-role="question" data-status="pending">
      <div className="question" role="group" aria-labelledby={`${id}-q`}>
        <p id={`${id}-q`} className="question-text">
          {q.text}
        </p>
        <div className="question-choices">
          {q.options.map((value, i) => (
            <button
              key={value}
              type="button"
              className={`btn btn-small${i === 0 ? " btn-primary" : ""}`}
              disabled={disabled}
              onClick={() => onAnswer(value)}
            >
              {value}
            </button>
          ))}
        </div>
      </div>
    </article>
  );
}

type RowProps = {
  thread: Thread;
  active: boolean;
  disabled: boolean;
  onPick: () => void;
  onRename: (title: string) => Promise<void>;
  onDelete: () => Promise<void>;
};

function ThreadRow({ thread, active, disabled, onPick, onRename, onDelete }: RowProps) {
  const [mode, setMode] = useState<"view" | "rename" | "confirm">("view");
  const [title, setTitle] = useState(threadTitle(thread));
  const [error, setError] = useState<string | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const renameBtn = useRef<HTMLButtonElement>(null);
  const confirmBtn = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (mode === "rename") {
      inputRef.current?.focus();
      inputRef.current?.select();
    }
    if (mode === "confirm") confirmBtn.current?.focus();
  }, [mode]);

  const back = () => {
    setMode("view");
    setError(null);
    requestAnimationFrame(() => renameBtn.current?.focus());
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    const t = title.trim();
    if (!t) return;
    try {
      await onRename(t);
      back();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  if (mode === "rename") {
    return (
      <li className="thread-row editing">
        <form onSubmit={save} className="thread-rename" onKeyDown={(e) => e.key === "Escape" && back()}>
          <label className="visually-hidden" htmlFor={`rename-${thread.id}`}>
            Conversation title
          </label>
          <input id={`rename-${thread.id}`} ref={inputRef} value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
          <button type="submit" className="btn btn-small btn-primary">
            Save
          </button>
          <button type="button" className="btn btn-small" onClick={back}>
            Cancel
          </button>
        </form>
        {error && <p className="inline-error">{error}</p>}
      </li>
    );
  }

  if (mode === "confirm") {
    return (
      <li className="thread-row confirming">
        <span className="thread-confirm-text">Delete “{threadTitle(thread)}”?</span>
        <div className="thread-confirm-actions">
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
            Delete
          </button>
          <button type="button" className="btn btn-small" onClick={back}>
            Cancel
          </button>
        </div>
        {error && <p className="inline-error">{error}</p>}
      </li>
    );
  }

  return (
    <li className={`thread-row${active ? " active" : ""}`}>
      <button type="button" className="thread-pick" onClick={onPick} aria-current={active ? "true" : undefined} disabled={disabled && !active}>
        <span className="thread-title">{threadTitle(thread)}</span>
        <span className="thread-date">{shortDate(thread.created_at)}</span>
      </button>
      <div className="thread-actions">
        <button
          type="button"
          ref={renameBtn}
          className="icon-btn"
          aria-label={`Rename “${threadTitle(thread)}”`}
          title="Rename"
          onClick={() => {
            setTitle(threadTitle(thread));
            setMode("rename");
          }}
        >
          <PencilIcon />
        </button>
        <button
          type="button"
          className="icon-btn"
          aria-label={`Delete “${threadTitle(thread)}”`}
          title="Delete"
          disabled={disabled}
          onClick={() => setMode("confirm")}
        >
          <TrashIcon />
        </button>
      </div>
    </li>
  );
}
