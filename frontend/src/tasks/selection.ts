/** What the task panel shows: a view of the sidebar, a list, the tasks with a tag, or the trash. */
import { INBOX, type TaskFilter, type TaskQuery } from "../api/tasks";

export type Selection =
  | { kind: "today" }
  | { kind: "upcoming" }
  | { kind: "all" }
  | { kind: "list"; name: string }
  | { kind: "tag"; tag: string }
  | { kind: "trash" };

export const ALL: Selection = { kind: "all" };

/** Today and Upcoming show pending tasks by date; the others can filter by status. */
export function isDateView(sel: Selection) {
  return sel.kind === "today" || sel.kind === "upcoming";
}

/** The deleted tasks (`GET /api/trash`): read-only, each with Restore. */
export function isTrash(sel: Selection) {
  return sel.kind === "trash";
}

export function sameSelection(a: Selection, b: Selection) {
  if (a.kind !== b.kind) return false;
  if (a.kind === "list" && b.kind === "list") return a.name.toLowerCase() === b.name.toLowerCase();
  if (a.kind === "tag" && b.kind === "tag") return a.tag === b.tag;
  return true;
}

/** The `GET /api/tasks` query of a selection (Today/Upcoming: pending only, the server's default). */
export function selectionQuery(sel: Selection, status: TaskFilter): TaskQuery {
  switch (sel.kind) {
    case "today":
    case "upcoming":
      return { view: sel.kind };
    case "list":
      return { list: sel.name, status };
    case "tag":
      return { tag: sel.tag, status };
    default:
      return { status };
  }
}

export function selectionTitle(sel: Selection): string {
  switch (sel.kind) {
    case "today":
      return "Today";
    case "upcoming":
      return "Upcoming";
    case "list":
      return sel.name;
    case "tag":
      return `#${sel.tag}`;
    case "trash":
      return "Trash";
    default:
      return "All tasks";
  }
}

/** The list new tasks go on when added here (none: the Inbox, unless the line names one). */
export function selectionList(sel: Selection): string | null {
  return sel.kind === "list" && sel.name !== INBOX ? sel.name : null;
}
