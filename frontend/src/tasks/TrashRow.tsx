/** A deleted task in the Trash: read-only (what it was, on which list), and Restore. */
import { useState } from "react";
import type { Task } from "../api/tasks";
import { CheckIcon, ListIcon, UndoIcon } from "../ui/icons";
import { PriorityFlag } from "./chips";

type Props = {
  task: Task;
  onRestore: () => Promise<void>;
};

export function TrashRow({ task, onRestore }: Props) {
  const [busy, setBusy] = useState(false);
  return (
    <li className={`task trashed${task.completed ? " done" : ""}`} data-task-id={task.id} data-priority={task.priority}>
      <span className="trash-state" aria-hidden="true">
        {task.completed && <CheckIcon />}
      </span>
      <div className="task-body">
        <span className="task-title">
          {task.title}
          {task.completed && <span className="visually-hidden"> (completed)</span>}
        </span>
        {task.description && <p className="task-desc">{task.description}</p>}
        <span className="task-meta">
          {task.due && !task.completed && (
            <span className="due-chip trashed-due" title={task.due.recurrence?.text}>
              <span className="visually-hidden">Due: </span>
              {task.due.text}
              {task.due.recurrence && " ↻"}
            </span>
          )}
          <PriorityFlag priority={task.priority} />
          {task.tags.map((tag) => (
            <span key={tag} className="tag-chip static">
              #{tag}
            </span>
          ))}
          <span className="task-list-name">
            <ListIcon />
            <span className="visually-hidden">List: </span>
            {task.list}
          </span>
          <span className="task-no">#{task.id}</span>
        </span>
      </div>
      <div className="task-actions">
        <button
          type="button"
          className="btn btn-small restore-btn"
          aria-disabled={busy || undefined}
          onClick={async () => {
            if (busy) return;
            setBusy(true);
            try {
              await onRestore();
            } finally {
              setBusy(false);
            }
          }}
          aria-label={`Restore “${task.title}”`}
        >
          <UndoIcon /> Restore
        </button>
      </div>
    </li>
  );
}
