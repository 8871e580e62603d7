/** The small pieces of a task's meta line: due chip, priority flag, tag chips. */
import type { Due, Priority } from "../api/tasks";
import { FlagIcon, RepeatIcon } from "../ui/icons";

export const PRIORITY_LABEL: Record<Priority, string> = { none: "No priority", low: "Low priority", medium: "Medium priority", high: "High priority" };

export function DueChip({ due, overdue }: { due: Due; overdue?: boolean }) {
  return (
    <span className="due-chip" data-overdue={overdue || undefined} title={due.recurrence?.text}>
      {overdue && <span className="visually-hidden">Overdue: </span>}
      {due.text}
      {due.recurrence && (
        <span className="due-repeat" aria-label={`, ${due.recurrence.text}`}>
          {" ↻"}
        </span>
      )}
    </span>
  );
}

/** A coloured flag for low, medium and high; nothing for none. */
export function PriorityFlag({ priority }: { priority: Priority }) {
  if (priority === "none") return null;
  return (
    <span className="prio-flag" data-priority={priority} role="img" aria-label={PRIORITY_LABEL[priority]} title={PRIORITY_LABEL[priority]}>
      <FlagIcon />
    </span>
  );
}

/** The quick-add preview of a due date: "Fri 4 Dec, 17:00" and how it repeats. */
export function DuePreview({ due }: { due: Due }) {
  return (
    <>
      {due.text}
      {due.recurrence && (
        <span className="qchip-hint">
          <RepeatIcon /> {due.recurrence.text}
        </span>
      )}
    </>
  );
}
