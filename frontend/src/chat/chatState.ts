/**
 * State of the built-in chat view, driven by ChatKit stream events. Pure, so the rules (what is shown
 * while streaming, what survives an error, what a retry removes) are unit-tested without a browser.
 */
import type { StreamEvent, ThreadItem } from "../api/chatkit";

export type ChatMessage = {
  /** React key: the server item id, or a local id until the server confirms the message. */
  key: string;
  /** Server item id once known. */
  id: string | null;
  role: "user" | "assistant";
  /** Content parts (assistant messages may have several); shown joined by blank lines. */
  parts: string[];
  /** An assistant message still streaming. */
  streaming: boolean;
};

export type RetryPlan =
  /** The server has the user message: regenerate the answer after it (`threads.retry_after_item`). */
  | { kind: "after_item"; threadId: string; itemId: string }
  /** The server may not have it: send the text again. */
  | { kind: "resend"; text: string };

export type ChatError = { message: string; retry: RetryPlan | null };

export type ChatState = {
  threadId: string | null;
  messages: ChatMessage[];
  /** A turn is in progress (request sent, stream not finished). */
  busy: boolean;
  /** Tool activity from `progress_update`, shown while the turn runs. */
  progress: string | null;
  error: ChatError | null;
  /** Text of the message being sent in this turn (for a resend after a network failure). */
  lastSent: string | null;
};

export const initialChatState: ChatState = {
  threadId: null,
  messages: [],
  busy: false,
  progress: null,
  error: null,
  lastSent: null,
};

export type ChatAction =
  | { type: "reset" }
  | { type: "loaded"; threadId: string; items: ThreadItem[] }
  | { type: "send"; text: string; localKey: string }
  | { type: "retry"; plan: RetryPlan }
  | { type: "event"; event: StreamEvent }
  | { type: "finished" }
  | { type: "failed"; message: string };

export function textOf(item: ThreadItem): string[] {
  if (item.type === "user_message") {
    return [item.content.map((c) => (typeof c.text === "string" ? c.text : "")).join("")];
  }
  return item.content.map((c) => c.text ?? "");
}

function fromItem(item: ThreadItem, streaming = false): ChatMessage | null {
  if (item.type !== "user_message" && item.type !== "assistant_message") return null;
  return {
    key: item.id,
    id: item.id,
    role: item.type === "user_message" ? "user" : "assistant",
    parts: textOf(item),
    streaming,
  };
}

/** The newest user message the server has confirmed (the anchor of a retry). */
function lastConfirmedUser(messages: ChatMessage[]): ChatMessage | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === "user" && m.id) return m;
  }
  return undefined;
}

function retryPlan(state: ChatState): RetryPlan | null {
  const anchor = lastConfirmedUser(state.messages);
  const unconfirmed = state.messages.some((m) => m.role === "user" && !m.id);
  if (!unconfirmed && anchor && state.threadId) {
    return { kind: "after_item", threadId: state.threadId, itemId: anchor.id! };
  }
  return state.lastSent ? { kind: "resend", text: state.lastSent } : null;
}

/** Ends a turn with an error: partial (never `done`) replies are dropped, as the server drops them. */
function fail(state: ChatState, message: string, allowRetry = true): ChatState {
  const retry = allowRetry ? retryPlan(state) : null;
  return {
    ...state,
    busy: false,
    progress: null,
    messages: state.messages.filter((m) => !m.streaming),
    error: { message, retry },
  };
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
      let at = messages.findIndex((m) => m.id === msg.id);
      if (at === -1 && msg.role === "user") {
        // The server's copy of the message we showed optimistically.
        at = messages.findIndex((m) => m.role === "user" && m.id === null);
        if (at !== -1) msg.key = messages[at].key;
      }
      if (at === -1) messages.push(msg);
      else messages[at] = event.type === "thread.item.added" ? { ...messages[at], streaming: true } : msg;
      const progress = msg.role === "assistant" && event.type !== "thread.item.added" ? null : state.progress;
      return { ...state, messages, progress };
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
    case "error":
      return fail(state, event.message || "Something went wrong while answering.", event.allow_retry ?? false);
    default:
      return state;
  }
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "reset":
      return initialChatState;
    case "loaded":
      return {
        ...initialChatState,
        threadId: action.threadId,
        messages: action.items.map((i) => fromItem(i)).filter((m): m is ChatMessage => m !== null),
      };
    case "send":
      return {
        ...state,
        busy: true,
        error: null,
        progress: null,
        lastSent: action.text,
        messages: [
          ...state.messages,
          { key: action.localKey, id: null, role: "user", parts: [action.text], streaming: false },
        ],
      };
    case "retry": {
      if (action.plan.kind === "after_item") {
        const at = state.messages.findIndex((m) => m.id === (action.plan as { itemId: string }).itemId);
        return {
          ...state,
          busy: true,
          error: null,
          progress: null,
          messages: at === -1 ? state.messages : state.messages.slice(0, at + 1),
        };
      }
      // The unconfirmed copy goes; the caller sends the text again.
      return { ...state, error: null, messages: state.messages.filter((m) => m.role !== "user" || m.id !== null) };
    }
    case "event":
      return applyEvent(state, action.event);
    case "finished": {
      if (!state.busy) return state; // already ended by an error event
      const unfinished = state.messages.some((m) => m.streaming);
      const answered = state.messages.length > 0 && state.messages[state.messages.length - 1].role === "assistant";
      if (unfinished || !answered) return fail(state, "The reply was interrupted before it finished.");
      return { ...state, busy: false, progress: null, lastSent: null };
    }
    case "failed":
      return fail(state, action.message);
  }
}
