import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { readSettings } from "./config";
import { FakeBackend } from "./test/fakeBackend";

let backend: FakeBackend;

beforeEach(() => {
  backend = new FakeBackend();
  vi.stubGlobal("fetch", backend.fetch);
});

const settings = () => readSettings({}, "http://localhost");

describe("App", () => {
  it("signs in locally, keeps the token out of URLs, survives a reload, and signs out", async () => {
    const ue = userEvent.setup();
    const first = render(<App settings={settings()} />);
    const name = screen.getByRole("textbox", { name: "User name" });
    expect(name).toHaveFocus();
    expect(screen.getByRole("button", { name: "Sign in" })).toBeDisabled();
    await ue.type(name, "alice{Enter}");

    expect(await screen.findByText("alice", { selector: ".account-name" })).toBeInTheDocument();
    expect(await screen.findByText(/No tasks yet/)).toBeInTheDocument();
    const tokenCall = backend.calls.find((c) => c.url === "/dev/token")!;
    expect(tokenCall.body).toEqual({ user: "alice" });
    const token = backend.calls.find((c) => c.url.startsWith("/api/tasks"))!.headers.get("Authorization")!.slice(7);
    expect(token.length).toBeGreaterThan(20);
    expect(backend.calls.every((c) => !c.url.includes(token))).toBe(true);
    expect(localStorage.length === 0 || !JSON.stringify({ ...localStorage }).includes(token)).toBe(true);

    // A reload in the same tab keeps the session (sessionStorage).
    first.unmount();
    render(<App settings={settings()} />);
    expect(await screen.findByText("alice", { selector: ".account-name" })).toBeInTheDocument();

    await ue.click(screen.getByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("textbox", { name: "User name" })).toBeInTheDocument();
    expect(sessionStorage.length).toBe(0);
  });

  it("tells the server the browser's time zone on sign-in, once, and only when it differs", async () => {
    // The browser reports Pacific/Chatham as its zone (the test machine's own zone stands in for it).
    const real = Intl.DateTimeFormat.prototype.resolvedOptions;
    const home = new Intl.DateTimeFormat().resolvedOptions().timeZone;
    vi.spyOn(Intl.DateTimeFormat.prototype, "resolvedOptions").mockImplementation(function (this: Intl.DateTimeFormat) {
      const options = real.call(this);
      return options.timeZone === home ? { ...options, timeZone: "Pacific/Chatham" } : options;
    });
    try {
      const ue = userEvent.setup();
      const app = render(<App settings={settings()} />);
      await ue.type(screen.getByRole("textbox", { name: "User name" }), "alice{Enter}");
      await waitFor(() => expect(backend.timezones.get("alice")).toBe("Pacific/Chatham"));
      const patches = () => backend.calls.filter((c) => c.url === "/api/me" && c.method === "PATCH");
      expect(patches()).toHaveLength(1);
      expect(patches()[0].body).toEqual({ timezone: "Pacific/Chatham" });
      // The next visit finds the zone stored and sends nothing.
      app.unmount();
      render(<App settings={settings()} />);
      expect(await screen.findByText("alice", { selector: ".account-name" })).toBeInTheDocument();
      await waitFor(() => expect(backend.calls.filter((c) => c.url === "/api/me")).toHaveLength(3));
      expect(patches()).toHaveLength(1);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("users see only their own tasks and conversations", async () => {
    backend.addTask("alice", "Alice's task");
    backend.addThread("alice", "Alice's chat", [["hi", "hello"]]);
    backend.addTask("bob", "Bob's task");
    const ue = userEvent.setup();
    render(<App settings={settings()} />);
    await ue.type(screen.getByRole("textbox", { name: "User name" }), "bob{Enter}");
    expect(await screen.findByRole("checkbox", { name: "Bob's task" })).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Conversations" });
    expect(await within(nav).findByText("No conversations yet.")).toBeInTheDocument();
    expect(screen.queryByText("Alice's task")).toBeNull();
  });

  it("a 401 from the API ends the session with a message", async () => {
    const ue = userEvent.setup();
    render(<App settings={settings()} />);
    await ue.type(screen.getByRole("textbox", { name: "User name" }), "alice{Enter}");
    await screen.findByText(/No tasks yet/);
    const real = backend.fetch;
    vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) =>
      String(input).startsWith("/api/tasks") ? new Response(null, { status: 401 }) : real(input, init),
    );
    await ue.click(screen.getByRole("button", { name: "Pending" }));
    expect(await screen.findByText("Your session expired. Please sign in again.")).toBeInTheDocument();
    await waitFor(() => expect(sessionStorage.length).toBe(0));
  });
});
