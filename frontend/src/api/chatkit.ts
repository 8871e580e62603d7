/**
 * The ChatKit server protocol (docs/chatkit-protocol.md), as far as the built-in chat UI needs it:
 * one `POST` endpoint, `{type, params}` bodies, JSON answers for plain operations and `text/event-stream`
 * answers for the streaming ones.
 */
import { ApiError, networkError, problemFrom, requestJson } from "./http";
import { readEventStream } from "../chat/sse";

export type Page<T> = { data: T[]; has_more: boolean; after?: string };

export type InputText = { type: "input_text"; text: string };
export type OutputText = { type: "output_text"; text: string; annotations?: unknown[] };

type ItemBase = { id: string; thread_id: string; created_at: string };

export type UserMessageItem = ItemBase & {
  type: "user_message";
  content: Array<InputText | { type: string; text?: string }>;
  attachments?: unknown[];
  inference_options?: Record<string, unknown>;
};

export type AssistantMessageItem = ItemBase & {
  type: "assistant_message";
  content: OutputText[];
};

/** An answer recorded for one input of a structured input item (`skipped` when it expired unanswered). */
export type StructuredInputAnswer = { values: string[]; skipped: boolean };

export type MultipleChoiceInput = {
  type: "multiple_choice";
  /** The key of this input's answer in `threads.add_structured_input`. */
  id: string;
  question: string;
  options: { value: string }[];
  multiple: boolean;
  answer?: StructuredInputAnswer | null;
};

export type FreeformInput = {
  type: "freeform";
  id: string;
  question: string;
  description?: string | null;
  answer?: StructuredInputAnswer | null;
};

export type StructuredInputStatus = "pending" | "answered" | "skipped";

/** A question the assistant asked (e.g. "Delete these 3 tasks?" with Yes and No), answered with
 * `threads.add_structured_input`; `skipped` once another message came first. */
export type StructuredInputItem = ItemBase & {
  type: "structured_input";
  status: StructuredInputStatus;
  inputs: Array<MultipleChoiceInput | FreeformInput>;
};

/** Items of other kinds (widgets, tool calls, …) are kept opaque and not rendered. */
export type OtherItem = ItemBase & { type: Exclude<string, "user_message" | "assistant_message" | "structured_input"> };

export type ThreadItem = UserMessageItem | AssistantMessageItem | StructuredInputItem;

export type Thread = {
  id: string;
  title?: string;
  created_at: string;
  status?: { type: string; reason?: string };
  /** `turn_status` (threads.get_by_id): the state of the conversation's newest turn. */
  metadata?: Record<string, unknown>;
  items?: Page<ThreadItem>;
};

/** The state of a thread's newest turn, as `threads.get_by_id` reports it; null when it has had none. */
export type TurnStatus = "running" | "done" | "failed";

export function turnStatus(thread: Thread): TurnStatus | null {
  const s = thread.metadata?.turn_status;
  return s === "running" || s === "done" || s === "failed" ? s : null;
}

export type ThreadItemUpdate =
  | { type: "assistant_message.content_part.text_delta"; content_index: number; delta: string }
  | { type: "assistant_message.content_part.added"; content_index: number; content: OutputText }
  | { type: "assistant_message.content_part.done"; content_index: number; content: OutputText }
  | { type: string; content_index?: number };

export type StreamEvent =
  | { type: "thread.created"; thread: Thread }
  | { type: "thread.updated"; thread: Thread }
  | { type: "thread.item.added"; item: ThreadItem }
  | { type: "thread.item.done"; item: ThreadItem }
  | { type: "thread.item.replaced"; item: ThreadItem }
  | { type: "thread.item.removed"; item_id: string }
  | { type: "thread.item.updated"; item_id: string; update: ThreadItemUpdate }
  | { type: "stream_options"; stream_options: { allow_cancel: boolean } }
  | { type: "progress_update"; text: string; icon?: string }
  | { type: "client_effect"; name: string; data?: Record<string, unknown> }
  | { type: "error"; code?: string; message?: string; allow_retry?: boolean }
  | { type: "notice"; level: string; message: string; title?: string };

export type UserMessageInput = {
  content: InputText[];
  attachments: string[];
  inference_options: Record<string, unknown>;
};

export function textInput(text: string): UserMessageInput {
  return { content: [{ type: "input_text", text }], attachments: [], inference_options: {} };
}

/** Thrown when a stream ended without a usable answer (closed early, or not an event stream). */
export class StreamError extends Error {}

/**
 * A fresh `Idempotency-Key` for one user turn (1–128 visible ASCII characters). `crypto.randomUUID`
 * exists only in secure contexts, so plain-HTTP origins other than localhost fall back to random bytes.
 */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === "function") return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof c?.getRandomValues === "function") c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export type StreamOptions = {
  signal?: AbortSignal;
  /** Sent as `Idempotency-Key` (threads.create, threads.add_user_message, threads.add_structured_input):
   * a resend of the same turn with the same key is answered from what the server stored instead of
   * running the turn twice. */
  idempotencyKey?: string | null;
};

export class ChatKitClient {
  private readonly fetchFn: typeof fetch;
  private readonly url: string;

  constructor(fetchFn: typeof fetch, url = "/chatkit") {
    this.fetchFn = fetchFn;
    this.url = url;
  }

  /** A non-streaming operation: one JSON document back. */
  request<T>(type: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
    return requestJson<T>(this.fetchFn, this.url, { method: "POST", body: { type, params }, signal });
  }

  /** A streaming operation: `onEvent` sees every event as soon as its frame arrives. */
  async stream(
    type: string,
    params: Record<string, unknown>,
    onEvent: (event: StreamEvent) => void,
    options: StreamOptions = {},
  ): Promise<void> {
    const { signal, idempotencyKey } = options;
    const headers = new Headers({ "Content-Type": "application/json", Accept: "text/event-stream" });
    if (idempotencyKey) headers.set("Idempotency-Key", idempotencyKey);
    let res: Response;
    try {
      res = await this.fetchFn(this.url, {
        method: "POST",
        headers,
        body: JSON.stringify({ type, params }),
        signal,
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      throw networkError(e);
    }
    if (!res.ok) throw await problemFrom(res);
    if (!res.body || !(res.headers.get("Content-Type") ?? "").includes("text/event-stream")) {
      throw new StreamError("The server did not answer with an event stream.");
    }
    try {
      await readEventStream(res.body, (data) => {
        let event: StreamEvent;
        try {
          event = JSON.parse(data) as StreamEvent;
        } catch {
          return; // a frame we cannot read is skipped, not fatal
        }
        onEvent(event);
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      if (e instanceof ApiError) throw e;
      throw networkError(e);
    }
  }

  listThreads(limit = 50, after?: string) {
    return this.request<Page<Thread>>("threads.list", { limit, order: "desc", ...(after ? { after } : {}) });
  }

  getThread(threadId: string, signal?: AbortSignal) {
    return this.request<Thread>("threads.get_by_id", { thread_id: threadId }, signal);
  }

  listItems(threadId: string, after: string | undefined, signal?: AbortSignal) {
    return this.request<Page<ThreadItem>>(
      "items.list",
      { thread_id: threadId, order: "asc", limit: 100, ...(after ? { after } : {}) },
      signal,
    );
  }

  /** The thread and all its items, oldest first (get_by_id gives the first page; items.list the rest). */
  async loadThread(threadId: string, signal?: AbortSignal, maxPages = 20): Promise<{ thread: Thread; items: ThreadItem[] }> {
    const thread = await this.getThread(threadId, signal);
    const items = [...(thread.items?.data ?? [])];
    let page: Page<ThreadItem> | undefined = thread.items;
    for (let n = 0; page?.has_more && n < maxPages; n++) {
      const after: string | undefined = page.after ?? items[items.length - 1]?.id;
      if (!after) break;
      page = await this.listItems(threadId, after, signal);
      items.push(...page.data);
    }
    return { thread, items };
  }

  renameThread(threadId: string, title: string) {
    return this.request<Thread>("threads.update", { thread_id: threadId, title });
  }

  deleteThread(threadId: string) {
    return this.request<Record<string, never>>("threads.delete", { thread_id: threadId });
  }
}
