/**
 * An in-memory fake of the backend contract for unit tests: `/dev/token`, the REST task API and the ChatKit
 * protocol subset of chatkit-protocol.md §8 (SSE frames `data: <json>\n\n`, chunked at odd places). It is
 * a `fetch` replacement, so the real clients and the real SSE parser run against it.
 */
import type { Task } from "../api/tasks";

type Item = Record<string, unknown> & { id: string; thread_id: string; type: string; created_at: string };
type ThreadRec = { id: string; user: string; title?: string; created_at: string; items: Item[] };

export type Call = { url: string; method: string; headers: Headers; body: unknown };

const now = () => new Date().toISOString();

function json(status: number, body: unknown, type = "application/json"): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

function problem(status: number, title: string, detail: string, errors?: { field: string; message: string }[]) {
  return json(status, { type: "about:blank", title, status, detail, ...(errors ? { errors } : {}) }, "application/problem+json");
}

export class FakeBackend {
  calls: Call[] = [];
  tasks: (Task & { user: string })[] = [];
  threads: ThreadRec[] = [];
  private nextTask = 1;
  private nextId = 1;
  /** Make the next streaming request fail: at the network level, or with an in-stream `error` event. */
  failNext: "network" | "error-event" | null = null;
  /** When set, a stream pauses after its first text delta until this promise settles. */
  gate: Promise<void> | null = null;
  /** Chunk size for SSE bodies (frames are split across chunks on purpose). */
  chunkSize = 17;

  readonly fetch: typeof fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.toString() : input.url;
    const method = (init?.method ?? "GET").toUpperCase();
    const headers = new Headers(init?.headers);
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    this.calls.push({ url, method, headers, body });
    const u = new URL(url, "http://localhost");
    if (u.pathname === "/dev/token") {
      const user = String(body?.user ?? "").trim();
      if (!user) return problem(422, "Invalid request", "user: must not be empty", [{ field: "user", message: "must not be empty" }]);
      return json(200, { token: fakeToken(user), token_type: "Bearer", expires_in: 43200 });
    }
    const user = userOf(headers);
    if (!user) return problem(401, "Unauthorized", "missing bearer token");
    if (u.pathname.startsWith("/api/tasks")) return this.rest(u, method, body, user);
    if (u.pathname === "/chatkit") return this.chatkit(body, user, init?.signal ?? undefined);
    return problem(404, "Not Found", "no such route");
  };

  // ------------------------------------------------------------------ REST

  addTask(user: string, title: string, description: string | null = null, completed = false): Task {
    const t = {
      id: this.nextTask++,
      user,
      title,
      description,
      completed,
      created_at: now(),
      updated_at: now(),
      completed_at: completed ? now() : null,
    };
    this.tasks.push(t);
    return strip(t);
  }

  private rest(u: URL, method: string, body: Record<string, unknown> | undefined, user: string): Response {
    const parts = u.pathname.split("/").filter(Boolean); // api, tasks, {id}, {action}
    const mine = this.tasks.filter((t) => t.user === user);
    if (parts.length === 2) {
      if (method === "GET") {
        const status = u.searchParams.get("status") ?? "all";
        const list = mine.filter((t) => status === "all" || (status === "completed") === t.completed);
        return json(200, { tasks: list.map(strip), next_cursor: null });
      }
      if (method === "POST") {
        const title = String(body?.title ?? "").trim();
        if (!title) return problem(422, "Invalid request", "title", [{ field: "title", message: "Title must not be empty." }]);
        return json(201, this.addTask(user, title, (body?.description as string) ?? null));
      }
    }
    const task = mine.find((t) => t.id === Number(parts[2]));
    if (!task) return problem(404, "Not Found", "No task with that id.");
    if (parts[3] === "complete" || parts[3] === "reopen") {
      task.completed = parts[3] === "complete";
      task.completed_at = task.completed ? (task.completed_at ?? now()) : null;
      return json(200, strip(task));
    }
    if (method === "PATCH") {
      if (body && "title" in body) {
        const title = String(body.title ?? "").trim();
        if (!title) return problem(422, "Invalid request", "title", [{ field: "title", message: "Title must not be empty." }]);
        task.title = title;
      }
      if (body && "description" in body) task.description = (body.description as string | null) ?? null;
      if (body && "completed" in body) task.completed = !!body.completed;
      task.updated_at = now();
      return json(200, strip(task));
    }
    if (method === "DELETE") {
      this.tasks = this.tasks.filter((t) => t !== task);
      return new Response(null, { status: 204 });
    }
    return problem(405, "Method Not Allowed", "");
  }

  // ------------------------------------------------------------------ ChatKit

  addThread(user: string, title: string | undefined, texts: [string, string][]): string {
    const id = `thr_${this.nextId++}`;
    const items: Item[] = [];
    for (const [q, a] of texts) {
      items.push(this.userItem(id, q));
      items.push(this.assistantItem(id, a));
    }
    this.threads.push({ id, user, title, created_at: now(), items });
    return id;
  }

  private userItem(threadId: string, text: string): Item {
    return {
      id: `msg_${this.nextId++}`,
      thread_id: threadId,
      created_at: now(),
      type: "user_message",
      content: [{ type: "input_text", text }],
      attachments: [],
      inference_options: {},
    };
  }

  private assistantItem(threadId: string, text: string): Item {
    return {
      id: `msg_${this.nextId++}`,
      thread_id: threadId,
      created_at: now(),
      type: "assistant_message",
      content: [{ type: "output_text", text, annotations: [] }],
    };
  }

  private threadJson(t: ThreadRec, items: Item[] = []) {
    return {
      id: t.id,
      ...(t.title ? { title: t.title } : {}),
      created_at: t.created_at,
      status: { type: "active" },
      metadata: {},
      items: { data: items, has_more: false },
    };
  }

  private chatkit(req: { type: string; params: Record<string, unknown> }, user: string, signal?: AbortSignal): Response {
    const p = req.params ?? {};
    const find = () => this.threads.find((t) => t.id === p.thread_id && t.user === user);
    switch (req.type) {
      case "threads.list": {
        const list = this.threads.filter((t) => t.user === user).reverse();
        return json(200, { data: list.map((t) => this.threadJson(t)), has_more: false });
      }
      case "threads.get_by_id": {
        const t = find();
        if (!t) return problem(404, "Not Found", "No such thread.");
        const first = t.items.slice(0, 20);
        const more = t.items.length > 20;
        return json(200, { ...this.threadJson(t, first), items: { data: first, has_more: more, ...(more ? { after: first[19].id } : {}) } });
      }
      case "items.list": {
        const t = find();
        if (!t) return problem(404, "Not Found", "No such thread.");
        let list = p.order === "asc" ? t.items.slice() : t.items.slice().reverse();
        if (p.after) list = list.slice(list.findIndex((i) => i.id === p.after) + 1);
        const limit = Number(p.limit ?? 20);
        const page = list.slice(0, limit);
        const more = list.length > limit;
        return json(200, { data: page, has_more: more, ...(more ? { after: page[page.length - 1].id } : {}) });
      }
      case "threads.update": {
        const t = find();
        if (!t) return problem(404, "Not Found", "No such thread.");
        t.title = String(p.title);
        return json(200, this.threadJson(t));
      }
      case "threads.delete": {
        const t = find();
        if (!t) return problem(404, "Not Found", "No such thread.");
        this.threads = this.threads.filter((x) => x !== t);
        return json(200, {});
      }
      case "threads.create":
      case "threads.add_user_message":
      case "threads.retry_after_item":
        return this.turn(req.type, p, user, signal);
      default:
        return problem(400, "Bad Request", `unknown type ${req.type}`);
    }
  }

  private turn(type: string, p: Record<string, unknown>, user: string, signal?: AbortSignal): Response {
    if (this.failNext === "network") {
      this.failNext = null;
      throw new TypeError("Failed to fetch");
    }
    const events: unknown[] = [];
    let thread: ThreadRec | undefined;
    let text: string;
    if (type === "threads.create") {
      thread = { id: `thr_${this.nextId++}`, user, created_at: now(), items: [] };
      this.threads.push(thread);
      events.push({ type: "thread.created", thread: this.threadJson(thread) });
    } else {
      thread = this.threads.find((t) => t.id === p.thread_id && t.user === user);
      if (!thread) return problem(404, "Not Found", "No such thread.");
    }
    if (type === "threads.retry_after_item") {
      const at = thread.items.findIndex((i) => i.id === p.item_id);
      thread.items = thread.items.slice(0, at + 1);
      const item = thread.items[at] as unknown as { content: { text: string }[] };
      text = item.content[0].text;
    } else {
      text = ((p.input as { content: { text: string }[] }).content[0] ?? { text: "" }).text;
      const item = this.userItem(thread.id, text);
      thread.items.push(item);
      events.push({ type: "thread.item.done", item });
    }
    events.push({ type: "stream_options", stream_options: { allow_cancel: false } });
    const fail = this.failNext === "error-event";
    this.failNext = null;
    let reply = `You said: ${text}`;
    const m = /add a task to (.+)/i.exec(text);
    if (m && !fail) {
      events.push({ type: "progress_update", text: "Adding a task…" });
      const task = this.addTask(user, m[1][0].toUpperCase() + m[1].slice(1));
      events.push({ type: "client_effect", name: "tasks_changed", data: { task_id: task.id } });
      reply = `Added task #${task.id}: **${task.title}**.`;
    }
    const assistant = this.assistantItem(thread.id, reply);
    const deltas = fail ? ["Partial"] : reply.match(/.{1,6}/gs)!;
    events.push({ type: "thread.item.added", item: { ...assistant, content: [] } });
    const gateAfter = events.length + 1;
    for (const d of deltas) {
      events.push({
        type: "thread.item.updated",
        item_id: assistant.id,
        update: { type: "assistant_message.content_part.text_delta", content_index: 0, delta: d },
      });
    }
    if (fail) {
      events.push({ type: "error", code: "custom", message: "The assistant is unavailable.", allow_retry: true });
    } else {
      events.push({ type: "thread.item.done", item: assistant });
      thread.items.push(assistant);
      if (!thread.title) {
        thread.title = text.slice(0, 40);
        events.push({ type: "thread.updated", thread: this.threadJson(thread) });
      }
    }
    return this.sse(events, gateAfter, signal);
  }

  private sse(events: unknown[], gateAfter: number, signal?: AbortSignal): Response {
    const enc = new TextEncoder();
    const gate = this.gate;
    const size = this.chunkSize;
    const frames = events.map((e) => `data: ${JSON.stringify(e)}\n\n`);
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (let i = 0; i < frames.length; i++) {
          if (signal?.aborted) return controller.error(new DOMException("aborted", "AbortError"));
          if (gate && i === gateAfter) await gate;
          const f = frames[i];
          for (let at = 0; at < f.length; at += size) controller.enqueue(enc.encode(f.slice(at, at + size)));
          await Promise.resolve();
        }
        controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { "Content-Type": "text/event-stream" } });
  }
}

function strip(t: Task & { user?: string }): Task {
  const { user: _user, ...rest } = t;
  void _user;
  return rest;
}

/** An unsigned JWT-shaped token carrying `sub` (the fake accepts it as proof of the user). */
export function fakeToken(user: string): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: user, exp: Math.floor(Date.now() / 1000) + 43200 })}.sig`;
}

function userOf(headers: Headers): string | null {
  const auth = headers.get("Authorization");
  const m = /^Bearer (.+)$/.exec(auth ?? "");
  if (!m) return null;
  try {
    const payload = m[1].split(".")[1];
    return (JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { sub: string }).sub;
  } catch {
    return null;
  }
}
