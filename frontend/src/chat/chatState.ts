/**
 * State of the built-in chat view, driven by ChatKit stream events and by reloads of the thread. Pure, so
 * the rules (what is shown while streaming, what survives an error, how a dropped stream is settled from
 * what the server stored, what a retry sends) are unit-tested without a browser.
 *
 * Every user turn carries an `Idempotency-Key`. A resend of the same turn repeats the request exactly (same
 * operation, params and key), so the server replays a finished turn, continues a failed one, or runs one
 * it never received, and never stores the message twice.
 *
 * A question the assistant asks (a `structured_input` item: "Delete these 3 tasks?" with Yes and No) is a
 * message of its own. Pressing an answer is a turn like any other (`threads.add_structured_input`): the
 * answer shows as the user's message at once, and the stream replaces the question with its answered form
 * before the reply. Any other message expires a pending question (on the server and here).
 */
import {
  textInput,
  turnStatus,
  type StreamEvent,
  type StructuredInputStatus,
  type Thread,
  type ThreadItem,
} from "../api/chatkit";

/** A question the assistant asked, as one multiple-choice input of a `structured_input` item. */
export type Question = {
  /** The input's id: the key of its answer (`confirm`). */
  inputId: string;
  text: string;
  /** The choices, as sent back when pressed ("Yes", "No"). */
  options: string[];
  status: StructuredInputStatus;
  /** What was answered ("Yes"); null until answered. */
  answer: string | null;
};

export type ChatMessage = {
  /** React key: the server item id, or a local id until the server confirms the message. */
  key: string;
  /** Server item id once known. */
  id: string | null;
  role: "user" | "assistant" | "question";
  /** Content parts (assistant messages may have several); shown joined by blank lines. */
  parts: string[];
  /** An assistant message still streaming. */
  streaming: boolean;
  /** A question's input and state (role `question` only). */
  question?: Question;
};

export type TurnOp = "threads.create" | "threads.add_user_message" | "threads.retry_after_item" | "threads.add_structured_input";

/** A turn request exactly as sent. `key` is the Idempotency-Key (none for retry_after_item). */
export type TurnRequest = { op: TurnOp; params: Record<string, unknown>; key: string | null };

export type RetryPlan =
  /** Send the same request again, with the same key: the server replays, continues or runs the turn. */
  | { kind: "resend"; request: TurnRequest }
  /** Regenerate the answer after a stored user message whose key is not known (a thread opened with a
   * failed newest turn): `threads.retry_after_item`. */
  | { kind: "after_item"; threadId: string; itemId: string }
  /** Reload the thread and look again (a reply was still being written elsewhere). */
  | { kind: "check" };

export type ChatError = { message: string; retry: RetryPlan | null };

/** The turn this view sent and has not seen the end of. */
export type Turn = {
  request: TurnRequest;
  /** React key of the optimistic copy of the user message (none for a retry_after_item). */
  localKey: string | null;
  text: string | null;
  /** The server's id of the turn's user message, once an event or a reload showed it. */
  userItemId: string | null;
  /** Ids of the items shown when the turn began: a reload tells the turn's message apart from these. */
  knownIds: string[];
  /** The reply's `thread.item.done` arrived. */
  answered: boolean;
};

/** After a dropped stream: reloading the thread, or polling it while the server still writes the reply. */
export type Recovery = {
  phase: "checking" | "waiting";
  /** Reloads so far that found the turn running. */
  attempt: number;
  /** Why the stream was lost, shown if the message turns out not to be stored. */
  cause: string;
};

export type ChatState = {
  threadId: string | null;
  messages: ChatMessage[];
  /** A turn is in progress (request sent, stream not finished, or its outcome still being checked). */
  busy: boolean;
  /** Tool activity from `progress_update`, shown while the turn runs. */
  progress: string | null;
  error: ChatError | null;
  turn: Turn | null;
  recovering: Recovery | null;
};

export const initialChatState: ChatState = {
  threadId: null,
  messages: [],
  busy: false,
  progress: null,
  error: null,
  turn: null,
  recovering: null,
};

/** How many reloads find a turn still running before the view stops waiting (× the poll interval). */
export const MAX_POLLS = 30;

export const MESSAGES = {
  interrupted: "The reply was interrupted before it finished.",
  notAnswered: "The assistant did not answer. Your message is saved: try again.",
  stillAnswering: "The assistant is still answering. Try again in a moment.",
  unansweredOnLoad: "The assistant did not answer your last message.",
  elsewhere: "A reply is still being written in another window. Check again in a moment.",
  generic: "Something went wrong while answering.",
} as const;

export type ChatAction =
  | { type: "reset" }
  | { type: "loaded"; thread: Thread; items: ThreadItem[] }
  | { type: "send"; text: string; localKey: string; request: TurnRequest }
  | { type: "retry"; plan: RetryPlan }
  | { type: "event"; event: StreamEvent }
  /** The stream ended normally. */
  | { type: "finished" }
  /** The request or stream broke without a verdict (network, 5xx, not an event stream). */
  | { type: "dropped"; message: string }
  /** The server refused the request (4xx); `retryable` for 408 / 429. */
  | { type: "rejected"; message: string; retryable: boolean }
  /** A reload after a drop (or while waiting) returned. */
  | { type: "reconciled"; thread: Thread; items: ThreadItem[] }
  | { type: "reconcileFailed"; message: string; retryable: boolean }
  /** A reload after a refused retry: the server's view replaces ours, the error stays. */
  | { type: "refreshed"; thread: Thread; items: ThreadItem[] };

/** The request of a new user turn: `threads.create` without a thread, else `threads.add_user_message`. */
export function turnRequest(threadId: string | null, text: string, key: string): TurnRequest {
  return threadId
    ? { op: "threads.add_user_message", params: { thread_id: threadId, input: textInput(text) }, key }
    : { op: "threads.create", params: { input: textInput(text) }, key };
}

/** The request that answers the question `itemId` with `value` (one of its options). */
export function answerRequest(threadId: string, itemId: string, question: Question, value: string, key: string): TurnRequest {
  return {
    op: "threads.add_structured_input",
    params: {
      thread_id: threadId,
      item_id: itemId,
      input: { status: "answered", answers: { [question.inputId]: { values: [value], skipped: false } } },
    },
    key,
  };
}

export function afterItemRequest(threadId: string, itemId: string): TurnRequest {
  return { op: "threads.retry_after_item", params: { thread_id: threadId, item_id: itemId }, key: null };
}

/** The request a retry plan sends (none for `check`). */
export function requestOf(plan: RetryPlan): TurnRequest | null {
  if (plan.kind === "resend") return plan.request;
  if (plan.kind === "after_item") return afterItemRequest(plan.threadId, plan.itemId);
  return null;
}

export function textOf(item: ThreadItem): string[] {
  if (item.type === "user_message") {
    return [item.content.map((c) => (typeof c.text === "string" ? c.text : "")).join("")];
  }
  if (item.type === "structured_input") return item.inputs.map((i) => i.question);
  return item.content.map((c) => c.text ?? "");
}

/** A structured input item as a question: its first multiple-choice input (the server sends one). */
function questionOf(item: ThreadItem): Question | null {
  if (item.type !== "structured_input" || !Array.isArray(item.inputs)) return null;
  const input = item.inputs.find((i) => i.type === "multiple_choice");
  if (!input || input.type !== "multiple_choice") return null;
  const answer = input.answer;
  const skipped = item.status === "skipped" || answer?.skipped === true;
  return {
    inputId: input.id,
    text: input.question,
    options: input.options.map((o) => o.value),
    status: skipped ? "skipped" : item.status,
    answer: !skipped && item.status === "answered" && answer ? answer.values.join(", ") : null,
  };
}

function fromItem(item: ThreadItem, streaming = false): ChatMessage | null {
  if (item.type === "structured_input") {
    const question = questionOf(item);
    if (!question) return null;
    return { key: item.id, id: item.id, role: "question", parts: [question.text], streaming: false, question };
  }
  if (item.type !== "user_message" && item.type !== "assistant_message") return null;
  return {
    key: item.id,
    id: item.id,
    role: item.type === "user_message" ? "user" : "assistant",
    parts: textOf(item),
    streaming,
  };
}

/** The server's items as messages; `keys` keeps the React key of messages already on screen. */
function toMessages(items: ThreadItem[], keys: Record<string, string> = {}): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const item of items) {
    const m = fromItem(item);
    if (!m) continue;
    if (keys[item.id]) m.key = keys[item.id];
    out.push(m);
  }
  return out;
}

function localCopy(turn: Turn): ChatMessage | null {
  if (!turn.localKey || turn.text === null) return null;
  return { key: turn.localKey, id: null, role: "user", parts: [turn.text], streaming: false };
}

/** The newest user message the server has confirmed. */
function lastConfirmedUser(messages: ChatMessage[]): ChatMessage | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === "user" && m.id) return m;
  }
  return undefined;
}

/** The turn's user message among reloaded items: by id once known, else the newest new one with its text. */
function ownMessage(items: ThreadItem[], turn: Turn): ThreadItem | undefined {
  if (turn.userItemId) return items.find((i) => i.id === turn.userItemId && i.type === "user_message");
  if (turn.text === null) return undefined;
  const known = new Set(turn.knownIds);
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i];
    if (it.type === "user_message" && !known.has(it.id) && textOf(it)[0] === turn.text) return it;
  }
  return undefined;
}

/** The assistant message answering the user item `id` (before the next user message), if stored. */
function replyTo(items: ThreadItem[], id: string): ThreadItem | undefined {
  const at = items.findIndex((i) => i.id === id);
  if (at === -1) return undefined;
  for (let i = at + 1; i < items.length; i++) {
    if (items[i].type === "assistant_message") return items[i];
    if (items[i].type === "user_message") return undefined;
  }
  return undefined;
}

function resendPlan(state: ChatState): RetryPlan | null {
  if (state.turn) return { kind: "resend", request: state.turn.request };
  const anchor = lastConfirmedUser(state.messages);
  return anchor && state.threadId ? { kind: "after_item", threadId: state.threadId, itemId: anchor.id! } : null;
}

/** Ends the turn with an error. Partial (never `done`) replies are dropped, as the server drops them. */
function stop(state: ChatState, message: string, retry: RetryPlan | null): ChatState {
  return {
    ...state,
    busy: false,
    progress: null,
    recovering: null,
    messages: state.messages.filter((m) => !m.streaming),
    error: { message, retry },
    turn: retry?.kind === "resend" ? state.turn : null,
  };
}

function finish(state: ChatState): ChatState {
  return {
    ...state,
    busy: false,
    progress: null,
    recovering: null,
    turn: null,
    messages: state.messages.filter((m) => !m.streaming),
  };
}

/** A thread as opened: a failed newest turn offers a retry; a running one is waited for. */
function fromThread(thread: Thread, items: ThreadItem[]): ChatState {
  const base: ChatState = { ...initialChatState, threadId: thread.id, messages: toMessages(items) };
  const status = turnStatus(thread);
  if (status === "running") return { ...base, busy: true, recovering: { phase: "waiting", attempt: 0, cause: "" } };
  const last = base.messages[base.messages.length - 1];
  if (status === "failed" && last?.role === "user" && last.id) {
    return { ...base, error: { message: MESSAGES.unansweredOnLoad, retry: { kind: "after_item", threadId: thread.id, itemId: last.id } } };
  }
  return base;
}

/** The stream was lost before the reply was done: look at what the server stored (when we know where). */
function drop(state: ChatState, cause: string): ChatState {
  if (!state.busy || state.recovering) return state;
  if (!state.turn) return stop(state, cause, resendPlan(state));
  if (state.turn.answered) return finish(state);
  if (!state.threadId) return stop(state, cause, resendPlan(state));
  return {
    ...state,
    progress: null,
    error: null,
    messages: state.messages.filter((m) => !m.streaming),
    recovering: { phase: "checking", attempt: 0, cause },
  };
}

/** Decides, from a reload, how a dropped turn ended. */
function reconcile(state: ChatState, thread: Thread, items: ThreadItem[]): ChatState {
  const rec = state.recovering;
  if (!rec || thread.id !== state.threadId) return state;
  const status = turnStatus(thread);
  const turn = state.turn;
  const attempt = rec.phase === "waiting" ? rec.attempt + 1 : rec.attempt;
  if (!turn) {
    // Waiting for a turn started elsewhere.
    if (status !== "running") return fromThread(thread, items);
    const messages = toMessages(items);
    if (attempt >= MAX_POLLS) return stop({ ...state, messages }, MESSAGES.elsewhere, { kind: "check" });
    return { ...state, messages, recovering: { ...rec, phase: "waiting", attempt } };
  }
  const ours = ownMessage(items, turn);
  const messages = toMessages(items, ours && turn.localKey ? { [ours.id]: turn.localKey } : {});
  if (ours && replyTo(items, ours.id)) {
    return { ...state, messages, busy: false, progress: null, error: null, turn: null, recovering: null };
  }
  const local = ours ? null : localCopy(turn);
  const next: ChatState = {
    ...state,
    messages: local ? [...messages, local] : messages,
    turn: ours ? { ...turn, userItemId: ours.id } : turn,
  };
  if (status === "running") {
    if (attempt >= MAX_POLLS) return stop(next, MESSAGES.stillAnswering, resendPlan(next));
    return { ...next, recovering: { ...rec, phase: "waiting", attempt } };
  }
  return stop(next, ours ? MESSAGES.notAnswered : rec.cause || MESSAGES.interrupted, resendPlan(next));
}

function skip(m: ChatMessage): ChatMessage {
  return { ...m, question: { ...m.question!, status: "skipped", answer: null } };
}

/** The question that can be answered now: the newest one still open (none while another message follows it). */
export function openQuestion(messages: ChatMessage[]): ChatMessage | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === "question") return m.question?.status === "pending" ? m : null;
    if (m.role === "user" && m.id !== null) return null;
  }
  return null;
}

function sameRequest(a: TurnRequest, b: TurnRequest): boolean {
  return a.op === b.op && a.key === b.key && JSON.stringify(a.params) === JSON.stringify(b.params);
}

function setPart(parts: string[], index: number, fn: (old: string) => string): string[] {
  const next = parts.slice();
  while (next.length <= index) next.push("");
  next[index] = fn(next[index]);
  return next;
}

function applyEvent(state: ChatState, event: StreamEvent): ChatState {
  switch (event.type) {
    case "thread.created":
      return { ...state, threadId: event.thread.id };
    case "thread.item.added":
    case "thread.item.done":
    case "thread.item.replaced": {
      const msg = fromItem(event.item, event.type === "thread.item.added");
      if (!msg) return state;
      const messages = state.messages.slice();
      let turn = state.turn;
      let at = messages.findIndex((m) => m.id === msg.id);
      if (msg.role === "question") {
        // Added, done or replaced (answered): the same question, in its place.
        if (at === -1) messages.push(msg);
        else messages[at] = { ...msg, key: messages[at].key };
        return { ...state, messages };
      }
      if (at === -1 && msg.role === "user") {
        // The server's copy of the message shown optimistically (never a second bubble).
        const localKey = turn?.localKey;
        at = localKey
          ? messages.findIndex((m) => m.key === localKey && m.id === null)
          : messages.findIndex((m) => m.role === "user" && m.id === null);
      }
      if (at === -1) messages.push(msg);
      else if (event.type === "thread.item.added") messages[at] = { ...messages[at], streaming: true };
      // Replaced: the new content in the same place; a reply still streaming goes on until its `done`.
      else if (event.type === "thread.item.replaced") messages[at] = { ...msg, key: messages[at].key, streaming: messages[at].streaming };
      else messages[at] = { ...msg, key: messages[at].key };
      if (turn && msg.role === "user" && !turn.userItemId) turn = { ...turn, userItemId: msg.id };
      if (turn && msg.role === "assistant" && event.type === "thread.item.done") turn = { ...turn, answered: true };
      const progress = msg.role === "assistant" && event.type !== "thread.item.added" ? null : state.progress;
      return { ...state, messages, progress, turn };
    }
    case "thread.item.removed":
      return { ...state, messages: state.messages.filter((m) => m.id !== event.item_id) };
    case "thread.item.updated": {
      const u = event.update;
      const idx = u.content_index ?? 0;
      let parts: ((p: string[]) => string[]) | null = null;
      if (u.type === "assistant_message.content_part.text_delta" && "delta" in u) {
        const delta = u.delta;
        parts = (p) => setPart(p, idx, (old) => old + delta);
      } else if (
        (u.type === "assistant_message.content_part.added" || u.type === "assistant_message.content_part.done") &&
        "content" in u
      ) {
        const text = u.content.text ?? "";
        parts = (p) => setPart(p, idx, (old) => (u.type === "assistant_message.content_part.added" ? old + text : text));
      }
      if (!parts) return state;
      const apply = parts;
      let found = false;
      const messages = state.messages.map((m) => {
        if (m.id !== event.item_id) return m;
        found = true;
        return { ...m, parts: apply(m.parts) };
      });
      if (!found) {
        messages.push({ key: event.item_id, id: event.item_id, role: "assistant", parts: apply([]), streaming: true });
      }
      return { ...state, messages };
    }
    case "progress_update":
      return { ...state, progress: event.text };
    case "error": {
      // allow_retry: a resend may help (the model failed, or another reply is still being written);
      // without it, retrying cannot help (e.g. the conversation was deleted).
      const retry = event.allow_retry ? resendPlan(state) : null;
      return stop(state, event.message || MESSAGES.generic, retry);
    }
    default:
      return state;
  }
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "reset":
      return initialChatState;
    case "loaded":
      return fromThread(action.thread, action.items);
    case "send": {
      // A copy never sent (its turn abandoned for this new one) goes. Any message but the answer to a
      // question expires the questions still open (the server does the same), so no button is left
      // that the server would refuse.
      const answering = action.request.op === "threads.add_structured_input" ? action.request.params.item_id : null;
      const kept = state.messages
        .filter((m) => m.role !== "user" || m.id !== null)
        .map((m) => (m.question?.status === "pending" && m.id !== answering ? skip(m) : m));
      return {
        ...state,
        busy: true,
        error: null,
        progress: null,
        recovering: null,
        turn: {
          request: action.request,
          localKey: action.localKey,
          text: action.text,
          userItemId: null,
          knownIds: kept.map((m) => m.id!).filter(Boolean),
          answered: false,
        },
        messages: [...kept, { key: action.localKey, id: null, role: "user", parts: [action.text], streaming: false }],
      };
    }
    case "retry": {
      const plan = action.plan;
      const starting = { ...state, busy: true, error: null, progress: null, recovering: null };
      if (plan.kind === "check") return { ...starting, recovering: { phase: "checking", attempt: 0, cause: "" } };
      if (plan.kind === "after_item") {
        const at = state.messages.findIndex((m) => m.id === plan.itemId);
        const messages = at === -1 ? state.messages : state.messages.slice(0, at + 1);
        return {
          ...starting,
          messages,
          turn: {
            request: afterItemRequest(plan.threadId, plan.itemId),
            localKey: null,
            text: null,
            userItemId: plan.itemId,
            knownIds: messages.map((m) => m.id!).filter(Boolean),
            answered: false,
          },
        };
      }
      // The same request again; the message stays on screen as it is (server copy or local copy).
      const turn: Turn = state.turn && sameRequest(state.turn.request, plan.request)
        ? { ...state.turn, answered: false }
        : { request: plan.request, localKey: null, text: null, userItemId: null, knownIds: [], answered: false };
      let messages = state.messages;
      const local = localCopy(turn);
      const shown = messages.some((m) => (turn.userItemId && m.id === turn.userItemId) || (turn.localKey && m.key === turn.localKey));
      if (local && !shown) messages = [...messages, local];
      return { ...starting, messages, turn };
    }
    case "event":
      return applyEvent(state, action.event);
    case "finished": {
      if (!state.busy || state.recovering) return state; // already ended by an error event
      if (!state.turn) return finish(state);
      const unfinished = state.messages.some((m) => m.streaming);
      if (state.turn.answered && !unfinished) return finish(state);
      return drop(state, MESSAGES.interrupted);
    }
    case "dropped":
      return drop(state, action.message);
    case "rejected":
      return stop(state, action.message, action.retryable ? resendPlan(state) : null);
    case "reconciled":
      return reconcile(state, action.thread, action.items);
    case "reconcileFailed":
      if (!state.recovering) return state;
      return stop(state, action.message, action.retryable ? (state.turn ? resendPlan(state) : { kind: "check" }) : null);
    case "refreshed": {
      if (state.busy || action.thread.id !== state.threadId) return state;
      const next = fromThread(action.thread, action.items);
      return state.error ? { ...next, error: { message: state.error.message, retry: next.error?.retry ?? null } } : next;
    }
  }
}
