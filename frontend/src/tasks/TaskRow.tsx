/** One task of the panel: complete / reopen, its due, priority, tags and list, and Edit / Delete. */
import { useId, useState } from "react";
import { isOverdue, type Task } from "../api/tasks";
import { ListIcon, PencilIcon, TrashIcon } from "../ui/icons";
import { DueChip, PriorityFlag } from "./chips";

type Props = {
  task: Task;
  /** Show the task's list (when the panel is not showing that list). */
  showList: boolean;
  onToggle: () => Promise<void>;
  onEdit: (opener: HTMLButtonElement) => void;
  onDelete: () => Promise<void>;
  onTag: (tag: string) => void;
};

export function TaskRow({ task, showList, onToggle, onEdit, onDelete, onTag }: Props) {
  const [busy, setBusy] = useState(false);
  /** The state the user just asked for, shown until the server answers (then the task's own state). */
  const [optimistic, setOptimistic] = useState<boolean | null>(null);
  const id = useId();
  const done = optimistic ?? task.completed;
  const overdue = isOverdue(task);

  return (
    <li className={`task${done ? " done" : ""}`} data-task-id={task.id} data-priority={task.priority}>
      <input
        type="checkbox"
        id={`${id}-c`}
        className="task-check"
        checked={done}
        aria-busy={busy || undefined}
        onChange={async () => {
          if (busy) return;
          setBusy(true);
          setOptimistic(!task.completed);
          await onToggle();
          setOptimistic(null);
          setBusy(false);
        }}
        aria-describedby={task.description ? `${id}-desc` : undefined}
      />
      <div className="task-body">
        <label htmlFor={`${id}-c`} className="task-title">
          {task.title}
        </label>
        {task.description && (
          <p id={`${id}-desc`} className="task-desc">
            {task.description}
          </p>
        )}
        <span className="task-meta">
          {task.due && !task.completed && <DueChip due={task.due} overdue={overdue} />}
          <PriorityFlag priority={task.priority} />
          {task.tags.map((tag) => (
            <button key={tag} type="button" className="tag-chip" onClick={() => onTag(tag)} aria-label={`Show tasks tagged ${tag}`} title={`Show tasks tagged #${tag}`}>
              #{tag}
            </button>
          ))}
          {showList && (
            <span className="task-list-name">
              <ListIcon />
              <span className="visually-hidden">List: </span>
              {task.list}
            </span>
          )}
          <span className="task-no">
            #{task.id}
            {task.completed && task.completed_at ? ` · done ${new Date(task.completed_at).toLocaleDateString(undefined, { month: "short", day: "numeric" })}` : ""}
          </span>
        </span>
      </div>
      <div className="task-actions">
        <button type="button" className="icon-btn" onClick={(e) => onEdit(e.currentTarget)} aria-label={`Edit “${task.title}”`} title="Edit">
          <PencilIcon />
        </button>
        <button
          type="button"
          className="icon-btn danger"
          onClick={async () => {
            setBusy(true);
            await onDelete();
            setBusy(false);
          }}
          disabled={busy}
          aria-label={`Delete “${task.title}”`}
          title="Delete"
        >
          <TrashIcon />
        </button>
      </div>
    </li>
  );
}
