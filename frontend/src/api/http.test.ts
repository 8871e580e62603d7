import { afterEach, describe, expect, it, vi } from "vitest";
import { bearerFetch, CLIENT_HEADER, isApiUrl, problemFrom, requestJson } from "./http";
import { TasksApi } from "./tasks";
import { FakeBackend, fakeToken } from "../test/fakeBackend";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("bearerFetch", () => {
  it("says X-Smart-Todo-Client: web on every request to /api, here or on another API base, and keeps the other headers", async () => {
    const seen: Headers[] = [];
    vi.stubGlobal("fetch", async (_input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers));
      return new Response("{}", { status: 200, headers: { "Content-Type": "application/json" } });
    });
    const f = bearerFetch(() => "tok");
    await f("/api/tasks?limit=100", { headers: [["Accept", "application/json"]] });
    await f("https://api.example.com/prod/api/undo", { method: "POST", headers: new Headers({ "Content-Type": "application/json" }) });
    await f(new URL("http://localhost/api"));
    for (const h of seen) {
      expect(h.get(CLIENT_HEADER)).toBe("web");
      expect(h.get("Authorization")).toBe("Bearer tok");
    }
    expect(seen[0].get("Accept")).toBe("application/json");
    expect(seen[1].get("Content-Type")).toBe("application/json");
  });

  it("leaves it off ChatKit's and the sign-in's requests", async () => {
    const seen: Headers[] = [];
    vi.stubGlobal("fetch", async (_input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers));
      return new Response(null, { status: 204 });
    });
    const f = bearerFetch(() => "tok");
    await f("/chatkit", { method: "POST" });
    await f("/dev/token", { method: "POST" });
    await f("/apiary/x");
    expect(seen.map((h) => h.has(CLIENT_HEADER))).toEqual([false, false, false]);
  });

  it("every request the task panel's client sends reaches the fake as the web app's (source ui)", async () => {
    const backend = new FakeBackend();
    vi.stubGlobal("fetch", backend.fetch);
    const api = new TasksApi(bearerFetch(() => fakeToken("alice")));
    const t = await api.create({ title: "Buy milk" });
    await api.update(t.id, { priority: "high" });
    await api.complete(t.id);
    await api.remove(t.id);
    await api.restore(t.id);
    await api.undo();
    await api.activity({ task_id: t.id });
    await api.trash();
    await api.counts();
    expect(backend.calls.length).toBe(9);
    expect(backend.calls.every((c) => c.headers.get(CLIENT_HEADER) === "web")).toBe(true);
    const page = await api.activity({ task_id: t.id });
    expect(new Set(page.events.map((e) => e.source))).toEqual(new Set(["ui"]));
  });

  it("isApiUrl reads the path, not the query or the host", () => {
    expect(isApiUrl("/api/tasks")).toBe(true);
    expect(isApiUrl("https://api.example.com/chatkit?x=/api/")).toBe(false);
    expect(isApiUrl(new Request("http://localhost/api/me"))).toBe(true);
  });
});

describe("problemFrom", () => {
  it("keeps a 429's Retry-After", async () => {
    const res = new Response(JSON.stringify({ title: "Too Many Requests", status: 429, detail: "slow down" }), {
      status: 429,
      headers: { "Content-Type": "application/problem+json", "Retry-After": "12" },
    });
    const err = await problemFrom(res);
    expect([err.status, err.retryAfter, err.userMessage]).toEqual([429, 12, "slow down"]);
  });

  it("a 409 from requestJson carries the problem's detail", async () => {
    const f = (async () =>
      new Response(JSON.stringify({ title: "Conflict", status: 409, detail: "there is nothing to undo" }), {
        status: 409,
        headers: { "Content-Type": "application/problem+json" },
      })) as typeof fetch;
    const err = await requestJson(f, "/api/undo", { method: "POST", body: {} }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 409, detail: "there is nothing to undo", retryAfter: null });
  });
});
