import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { bearerFetch } from "../api/http";
import { TasksApi } from "../api/tasks";
import { FakeBackend, fakeToken } from "../test/fakeBackend";
import { TaskPanel } from "./TaskPanel";

let backend: FakeBackend;

function setup(fetchFn: typeof fetch = backend.fetch) {
  vi.stubGlobal("fetch", fetchFn);
  const api = new TasksApi(bearerFetch(() => fakeToken("alice")));
  render(<TaskPanel api={api} refreshKey={0} />);
  return { ue: userEvent.setup() };
}

const input = () => screen.getByRole("textbox", { name: "New task" });
const chips = () => screen.queryByRole("list", { name: "Will be added with" });
const posts = () => backend.calls.filter((c) => c.method === "POST" && c.url === "/api/tasks");
const parses = () => backend.calls.filter((c) => c.url.startsWith("/api/parse?"));

beforeEach(() => {
  backend = new FakeBackend();
});

describe("quick add", () => {
  it("shows chips for the due date, tag, priority and list before Enter, then posts the parsed fields", async () => {
    const { ue } = setup();
    await screen.findByText(/No tasks yet/);
    await ue.type(input(), "Buy milk tomorrow 5pm #errands !high ~Shopping");
    const tomorrow = backend.due("alice", 1, "17:00");
    const preview = await screen.findByRole("list", { name: "Will be added with" });
    expect(within(preview).getByText(tomorrow.text)).toBeInTheDocument();
    expect(within(preview).getByText(/^Due:/).closest("li")).toHaveTextContent(`Due: ${tomorrow.text}`);
    expect(within(preview).getByText("errands")).toBeInTheDocument();
    expect(within(preview).getByText("High priority")).toBeInTheDocument();
    expect(within(preview).getByText("Shopping")).toBeInTheDocument();
    expect(within(preview).getByText("Buy milk")).toBeInTheDocument();
    // Nothing was added yet; the line was parsed once it settled (not once per key).
    expect(posts()).toHaveLength(0);
    expect(parses().length).toBeLessThan(5);
    expect(parses().at(-1)!.url).toBe(`/api/parse?${new URLSearchParams({ text: "Buy milk tomorrow 5pm #errands !high ~Shopping" })}`);

    await ue.keyboard("{Enter}");
    const row = (await screen.findByRole("checkbox", { name: "Buy milk" })).closest("li")!;
    expect(posts()).toHaveLength(1);
    expect(posts()[0].body).toEqual({ title: "Buy milk", due: tomorrow, priority: "high", tags: ["errands"], list: "Shopping" });
    expect(within(row).getByText(tomorrow.text).closest(".due-chip")).not.toHaveAttribute("data-overdue");
    expect(within(row).getByRole("img", { name: "High priority" })).toBeInTheDocument();
    expect(within(row).getByRole("button", { name: "Show tasks tagged errands" })).toHaveTextContent("#errands");
    expect(within(row).getByText("Shopping")).toBeInTheDocument();
    expect(input()).toHaveValue("");
    expect(input()).toHaveFocus();
    await waitFor(() => expect(chips()).toBeNull());
    // A new list appears in the sidebar.
    expect(await screen.findByRole("button", { name: "Shopping, 1 pending" })).toBeInTheDocument();
  });

  it("shows a recurring date with how it repeats", async () => {
    const { ue } = setup();
    await screen.findByText(/No tasks yet/);
    await ue.type(input(), "Stand-up every weekday at 9 !2");
    const preview = await screen.findByRole("list", { name: "Will be added with" });
    expect(within(preview).getByText(/every weekday at 09:00/)).toBeInTheDocument();
    expect(within(preview).getByText("Medium priority")).toBeInTheDocument();
  });

  it("explains a line the server cannot use and does not add it", async () => {
    const { ue } = setup();
    await screen.findByText(/No tasks yet/);
    await ue.type(input(), "#errands !high");
    expect(await screen.findByText(/nothing is left for the title/)).toBeInTheDocument();
    await ue.keyboard("{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent(/nothing is left for the title/);
    expect(input()).toHaveAttribute("aria-invalid", "true");
    expect(posts()).toHaveLength(0);
  });

  it("Enter before the preview arrives parses the line first", async () => {
    const { ue } = setup();
    await screen.findByText(/No tasks yet/);
    await ue.click(input());
    await ue.paste("Water plants today #home");
    await ue.keyboard("{Enter}");
    await screen.findByRole("checkbox", { name: "Water plants" });
    expect(posts()[0].body).toMatchObject({ title: "Water plants", tags: ["home"], due: backend.due("alice", 0) });
  });

  it("ignores a preview that answers after a newer one", async () => {
    // The first line's answer is held back until the second line's has been shown.
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    const slow: typeof fetch = async (input, init) => {
      const url = String(input);
      if (url.startsWith("/api/parse") && url.includes("friday")) {
        const res = await backend.fetch(input, init);
        await held;
        return res;
      }
      return backend.fetch(input, init);
    };
    const { ue } = setup(slow);
    await screen.findByText(/No tasks yet/);
    await ue.type(input(), "Call Bob friday");
    await waitFor(() => expect(parses().some((c) => c.url.includes("friday"))).toBe(true));
    await ue.clear(input());
    await ue.type(input(), "Call Ann #work");
    const preview = await screen.findByRole("list", { name: "Will be added with" });
    expect(within(preview).getByText("work")).toBeInTheDocument();
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect(within(screen.getByRole("list", { name: "Will be added with" })).queryByText(/Due:/)).toBeNull();
    expect(within(screen.getByRole("list", { name: "Will be added with" })).getByText("work")).toBeInTheDocument();
  });
});
