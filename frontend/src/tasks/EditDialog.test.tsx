import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { bearerFetch } from "../api/http";
import { TasksApi } from "../api/tasks";
import { FakeBackend, fakeToken } from "../test/fakeBackend";
import { TaskPanel } from "./TaskPanel";

let backend: FakeBackend;

function setup() {
  const api = new TasksApi(bearerFetch(() => fakeToken("alice")));
  render(<TaskPanel api={api} refreshKey={0} />);
  return { ue: userEvent.setup() };
}

const dialog = () => screen.getByRole("dialog", { name: "Edit task" });
const patches = () => backend.calls.filter((c) => c.method === "PATCH");

beforeEach(() => {
  backend = new FakeBackend();
  vi.stubGlobal("fetch", backend.fetch);
  backend.addList("alice", "Work");
  backend.addTask("alice", "Write report", "Q3 numbers", false, { tags: ["office"], priority: "low" });
});

async function open(ue: ReturnType<typeof userEvent.setup>, title = "Write report") {
  await ue.click(await screen.findByRole("button", { name: `Edit “${title}”` }));
  return dialog();
}

describe("the edit dialog", () => {
  it("is a modal dialog that keeps focus inside and closes on Escape, back to its Edit button", async () => {
    const { ue } = setup();
    const d = await open(ue);
    expect(d).toHaveAttribute("aria-modal", "true");
    expect(within(d).getByRole("textbox", { name: "Title" })).toHaveFocus();
    // Shift+Tab from the first control goes to the last (Save), Tab from there back to the first.
    await ue.click(within(d).getByRole("button", { name: "Close" }));
    // (Close closes; open again to walk the focus order.)
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    await open(ue);
    within(dialog()).getByRole("button", { name: "Close" }).focus();
    await ue.tab({ shift: true });
    expect(within(dialog()).getByRole("button", { name: "Save" })).toHaveFocus();
    await ue.tab();
    expect(within(dialog()).getByRole("button", { name: "Close" })).toHaveFocus();
    await ue.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    await waitFor(() => expect(screen.getByRole("button", { name: "Edit “Write report”" })).toHaveFocus());
    expect(patches()).toHaveLength(0);
  });

  it("shows the task's fields and sends one PATCH with only what changed", async () => {
    const { ue } = setup();
    const d = await open(ue);
    expect(within(d).getByRole("textbox", { name: "Description" })).toHaveValue("Q3 numbers");
    expect(within(d).getByRole("combobox", { name: "Priority" })).toHaveValue("low");
    expect(within(d).getByRole("combobox", { name: "List" })).toHaveValue("Inbox");
    expect(within(d).getByRole("list", { name: "Tags" })).toHaveTextContent("#office");

    await ue.type(within(d).getByLabelText("Due date"), "2030-05-06");
    await ue.type(within(d).getByLabelText(/^Time/), "09:30");
    await ue.selectOptions(within(d).getByRole("combobox", { name: "Repeat" }), "Every weekday");
    await ue.selectOptions(within(d).getByRole("combobox", { name: "Priority" }), "High");
    await ue.selectOptions(within(d).getByRole("combobox", { name: "List" }), "Work");
    await ue.click(within(d).getByRole("button", { name: "Remove tag office" }));
    await ue.type(within(d).getByRole("textbox", { name: "Tags" }), "Reports{Enter}q3,");
    expect(within(d).getByRole("list", { name: "Tags" })).toHaveTextContent("#reports#q3");
    await ue.click(within(d).getByRole("button", { name: "Save" }));

    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(patches()).toHaveLength(1);
    expect(patches()[0].body).toEqual({
      due: { date: "2030-05-06", time: "09:30", recurrence: { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" } },
      priority: "high",
      list: "Work",
      tags: ["reports", "q3"],
    });
    const row = screen.getByRole("checkbox", { name: "Write report" }).closest("li")!;
    expect(within(row).getByText(/Mon 6 May 2030, 09:30/)).toBeInTheDocument();
    expect(within(row).getByText(/Mon 6 May 2030/).closest(".due-chip")).toHaveAttribute("title", "every weekday at 09:30");
    expect(within(row).getByRole("img", { name: "High priority" })).toBeInTheDocument();
    expect(within(row).getByText("Work")).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Saved “Write report”.");
  });

  it("saves nothing when nothing changed, and clears a date, a repeat and the tags", async () => {
    backend.tasks[0].due = backend.due("alice", 2, null, "FREQ=DAILY");
    const { ue } = setup();
    let d = await open(ue);
    expect(within(d).getByRole("combobox", { name: "Repeat" })).toHaveValue("FREQ=DAILY");
    await ue.click(within(d).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(patches()).toHaveLength(0);

    d = await open(ue);
    await ue.selectOptions(within(d).getByRole("combobox", { name: "Repeat" }), "Does not repeat");
    await ue.click(within(d).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(patches()[0].body).toEqual({ due: { date: backend.tasks[0].due!.date, time: null, recurrence: null, timezone: "UTC" } });
    expect(backend.tasks[0].due!.recurrence).toBeNull();

    d = await open(ue);
    await ue.click(within(d).getByRole("button", { name: "Remove the date" }));
    await ue.click(within(d).getByRole("button", { name: "Remove tag office" }));
    await ue.click(within(d).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(patches()[1].body).toEqual({ due: null, tags: [] });
  });

  it("puts a task on a new list", async () => {
    const { ue } = setup();
    const d = await open(ue);
    await ue.selectOptions(within(d).getByRole("combobox", { name: "List" }), "New list…");
    const name = within(d).getByRole("textbox", { name: "New list name" });
    expect(name).toHaveFocus();
    await ue.type(name, "Side project{Enter}");
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(patches()[0].body).toEqual({ list: "Side project" });
    expect(await screen.findByRole("button", { name: "Side project, 1 pending" })).toBeInTheDocument();
  });

  it("shows the server's errors at their fields and stays open", async () => {
    const { ue } = setup();
    const d = await open(ue);
    const tags = within(d).getByRole("textbox", { name: "Tags" });
    await ue.type(tags, "x".repeat(35));
    await ue.click(within(d).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(within(dialog()).getByRole("textbox", { name: "Tags" })).toHaveAttribute("aria-invalid", "true"));
    expect(within(dialog()).getByRole("textbox", { name: "Tags" })).toHaveAccessibleDescription("the tag 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' has 35 characters; at most 32 are allowed");
    expect(within(dialog()).getByRole("textbox", { name: "Tags" })).toHaveFocus();
    expect(patches()).toHaveLength(1);
    expect(backend.tasks[0].tags).toEqual(["office"]);
  });

  it("asks for a date before a repeat", async () => {
    const { ue } = setup();
    const d = await open(ue);
    await ue.selectOptions(within(d).getByRole("combobox", { name: "Repeat" }), "Every month");
    await ue.click(within(d).getByRole("button", { name: "Save" }));
    expect(within(d).getByText("Choose a date for the task to repeat from.")).toBeInTheDocument();
    expect(within(d).getByLabelText("Due date")).toHaveFocus();
    expect(patches()).toHaveLength(0);
  });
});
