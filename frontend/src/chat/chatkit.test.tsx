/**
 * ChatKit wiring, without the network: the options handed to `useChatKit` (endpoint, domain key, the
 * bearer-adding fetch, history, resume, effects) and the automatic fallback to the built-in chat UI when
 * ChatKit's script never defines `<openai-chatkit>`.
 */
import { act, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { UseChatKitOptions } from "@openai/chatkit-react";
import { readSettings, CHATKIT_SCRIPT_URL, type Settings } from "../config";
import { ChatKitClient } from "../api/chatkit";
import { FakeBackend, fakeToken } from "../test/fakeBackend";
import { ChatPane, FALLBACK_NOTICE } from "./ChatPane";
import { bearerFetch } from "../api/http";

const captured: UseChatKitOptions[] = [];
vi.mock("@openai/chatkit-react", () => ({
  useChatKit: (options: UseChatKitOptions) => {
    captured.push(options);
    return { control: { options, handlers: {}, setInstance: () => {} } };
  },
  ChatKit: () => <div data-testid="chatkit-element" />,
}));

const TOKEN = fakeToken("alice");

function settingsWith(env: Record<string, string>): Settings {
  return readSettings(env, "http://localhost:5173");
}

function renderPane(settings: Settings, extra: Partial<Parameters<typeof ChatPane>[0]> = {}) {
  const backend = new FakeBackend();
  const client = new ChatKitClient(bearerFetch(() => TOKEN), settings.chatkitUrl);
  vi.stubGlobal("fetch", backend.fetch);
  const onTasksChanged = vi.fn();
  const utils = render(
    <ChatPane
      settings={settings}
      client={client}
      user="alice"
      getToken={() => TOKEN}
      onTasksChanged={onTasksChanged}
      onUnauthorized={() => {}}
      colorScheme="dark"
      {...extra}
    />,
  );
  return { ...utils, backend, onTasksChanged };
}

function lastOptions(): UseChatKitOptions {
  expect(captured.length).toBeGreaterThan(0);
  return captured[captured.length - 1];
}

beforeEach(() => {
  captured.length = 0;
  document.head.querySelectorAll("script[data-chatkit]").forEach((s) => s.remove());
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("ChatKit options", () => {
  it("point at /chatkit with the configured domain key, history with rename/delete, and the last thread", () => {
    localStorage.setItem("smart-todo.last-thread.alice", "thr_42");
    renderPane(settingsWith({ VITE_CHATKIT_DOMAIN_KEY: "domain_pk_test123" }));
    const o = lastOptions();
    expect(o.api).toMatchObject({ url: "/chatkit", domainKey: "domain_pk_test123" });
    expect(typeof (o.api as { fetch?: unknown }).fetch).toBe("function");
    expect(o.history).toEqual({ enabled: true, showDelete: true, showRename: true });
    expect(o.initialThread).toBe("thr_42");
    expect(o.theme).toMatchObject({ colorScheme: "dark" });
  });

  it("use VITE_API_BASE_URL for the endpoint when the API is on another origin", () => {
    renderPane(settingsWith({ VITE_CHATKIT_DOMAIN_KEY: "k", VITE_API_BASE_URL: "https://api.example.com/" }));
    expect(lastOptions().api).toMatchObject({ url: "https://api.example.com/chatkit" });
  });

  it("the custom fetch adds the bearer token and keeps the other headers", async () => {
    renderPane(settingsWith({ VITE_CHATKIT_DOMAIN_KEY: "k" }));
    const chatkitFetch = (lastOptions().api as { fetch: typeof fetch }).fetch;
    const spy = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => new Response("{}", { status: 200 }));
    vi.stubGlobal("fetch", spy);

    // ChatKit may pass a Headers object (spreading it would lose every header) …
    await chatkitFetch("/chatkit", {
      method: "POST",
      headers: new Headers({ "Content-Type": "application/json", "Accept-Language": "en", "X-Extra": "1" }),
      body: '{"type":"threads.list","params":{}}',
    });
    // … a plain record, or an array of pairs.
    await chatkitFetch("/chatkit", { method: "POST", headers: { "content-type": "application/json" } });
    await chatkitFetch("/chatkit", { method: "POST", headers: [["X-Pair", "yes"]] });

    expect(spy).toHaveBeenCalledTimes(3);
    const h0 = new Headers(spy.mock.calls[0][1]!.headers);
    expect(h0.get("Authorization")).toBe(`Bearer ${TOKEN}`);
    expect(h0.get("Content-Type")).toBe("application/json");
    expect(h0.get("Accept-Language")).toBe("en");
    expect(h0.get("X-Extra")).toBe("1");
    expect(spy.mock.calls[0][1]).toMatchObject({ method: "POST", body: '{"type":"threads.list","params":{}}' });
    expect(spy.mock.calls[0][0]).toBe("/chatkit");
    expect(new Headers(spy.mock.calls[1][1]!.headers).get("content-type")).toBe("application/json");
    expect(new Headers(spy.mock.calls[1][1]!.headers).get("authorization")).toBe(`Bearer ${TOKEN}`);
    expect(new Headers(spy.mock.calls[2][1]!.headers).get("X-Pair")).toBe("yes");
    expect(new Headers(spy.mock.calls[2][1]!.headers).get("authorization")).toBe(`Bearer ${TOKEN}`);
  });

  it("the custom fetch reads the token at call time and sends none when signed out", async () => {
    let token: string | null = "first";
    renderPane(settingsWith({ VITE_CHATKIT_DOMAIN_KEY: "k" }), { getToken: () => token });
    const chatkitFetch = (lastOptions().api as { fetch: typeof fetch }).fetch;
    const spy = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => new Response("{}"));
    vi.stubGlobal("fetch", spy);
    const sent = (n: number) => new Headers(spy.mock.calls[n][1]!.headers);
    token = "renewed";
    await chatkitFetch("/chatkit", {});
    expect(sent(0).get("Authorization")).toBe("Bearer renewed");
    token = null;
    await chatkitFetch("/chatkit", {});
    expect(sent(1).has("Authorization")).toBe(false);
  });

  it("tasks_changed effects and finished responses refresh the task panel; thread changes are remembered", () => {
    const { onTasksChanged } = renderPane(settingsWith({ VITE_CHATKIT_DOMAIN_KEY: "k" }));
    const o = lastOptions();
    o.onEffect!({ name: "tasks_changed", data: { task_id: 1 } });
    o.onEffect!({ name: "something_else" });
    expect(onTasksChanged).toHaveBeenCalledTimes(1);
    o.onResponseEnd!();
    expect(onTasksChanged).toHaveBeenCalledTimes(2);
    o.onThreadChange!({ threadId: "thr_7" });
    expect(localStorage.getItem("smart-todo.last-thread.alice")).toBe("thr_7");
    o.onThreadChange!({ threadId: null });
    expect(localStorage.getItem("smart-todo.last-thread.alice")).toBeNull();
  });
});

describe("choosing the chat UI", () => {
  it("without a domain key: the built-in UI, and no third-party script", async () => {
    renderPane(settingsWith({}));
    expect(screen.getByRole("textbox", { name: "Message" })).toBeInTheDocument();
    expect(await screen.findByText("No conversations yet.")).toBeInTheDocument();
    expect(document.querySelector("script[data-chatkit]")).toBeNull();
    expect(captured).toHaveLength(0);
  });

  it("falls back to the built-in UI when <openai-chatkit> is not defined within 4 s", async () => {
    vi.useFakeTimers();
    renderPane(settingsWith({ VITE_CHATKIT_DOMAIN_KEY: "domain_pk_localhost_dev" }));
    const script = document.querySelector<HTMLScriptElement>("script[data-chatkit]");
    expect(script?.src).toBe(CHATKIT_SCRIPT_URL);
    expect(screen.getByTestId("chatkit-element")).toBeInTheDocument();
    expect(screen.getByText("Loading ChatKit…")).toBeInTheDocument();

    await act(async () => {
      vi.advanceTimersByTime(3999);
    });
    expect(screen.queryByRole("textbox", { name: "Message" })).toBeNull();

    await act(async () => {
      vi.advanceTimersByTime(1);
    });
    expect(screen.queryByTestId("chatkit-element")).toBeNull();
    expect(screen.getByRole("textbox", { name: "Message" })).toBeInTheDocument();
    expect(screen.getByText(FALLBACK_NOTICE)).toBeInTheDocument();
    expect(customElements.get("openai-chatkit")).toBeUndefined();
    vi.useRealTimers();
    expect(await screen.findByText("No conversations yet.")).toBeInTheDocument();
  });

  it("falls back at once when the script fails to load", async () => {
    vi.useFakeTimers();
    renderPane(settingsWith({ VITE_CHATKIT_DOMAIN_KEY: "k" }));
    const script = document.querySelector<HTMLScriptElement>("script[data-chatkit]")!;
    await act(async () => {
      script.dispatchEvent(new Event("error"));
    });
    expect(screen.getByRole("textbox", { name: "Message" })).toBeInTheDocument();
    vi.useRealTimers();
    expect(await screen.findByText("No conversations yet.")).toBeInTheDocument();
  });

  it("keeps ChatKit when the element gets defined in time", async () => {
    vi.useFakeTimers();
    renderPane(settingsWith({ VITE_CHATKIT_DOMAIN_KEY: "k" }));
    await act(async () => {
      vi.advanceTimersByTime(1000);
      customElements.define("openai-chatkit", class extends HTMLElement {});
    });
    await act(async () => {
      vi.advanceTimersByTime(10_000);
    });
    expect(screen.getByTestId("chatkit-element")).toBeInTheDocument();
    expect(screen.queryByText("Loading ChatKit…")).toBeNull();
    expect(screen.queryByRole("textbox", { name: "Message" })).toBeNull();
  });
});
