/**
 * The one toast of the task panel: a line about what just happened, an Undo button when it can be
 * undone, and × to dismiss. It goes after {@link TOAST_MS} (not while the pointer is over it, focus is
 * in it or its undo is under way), and a new one replaces it. The host is always in the page and is a
 * polite live region, so screen readers announce each new toast. While a toast offers Undo, Ctrl+Z
 * (⌘Z) outside a text field and a dialog presses it.
 */
import { useEffect, useRef, useState, type JSX } from "react";
import { AlertIcon, CheckIcon, CloseIcon, UndoIcon } from "./icons";

/** How long a toast stays. */
export const TOAST_MS = 6000;

export type ToastTone = "done" | "undone" | "error";

export type ToastData = {
  /** New for each toast: a toast with a new id starts its time again. */
  id: number;
  message: string;
  tone: ToastTone;
  /** Offer Undo. */
  undo: boolean;
};

type Props = {
  toast: ToastData | null;
  /** The undo is under way: Undo is disabled and the toast stays. */
  busy?: boolean;
  onUndo: () => void;
  onDismiss: () => void;
  /** Where focus goes when the toast goes while it has focus. */
  onFocusLost?: () => void;
  timeoutMs?: number;
};

const ICONS: Record<ToastTone, () => JSX.Element> = { done: CheckIcon, undone: UndoIcon, error: AlertIcon };

function editable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || !!target.closest('input, textarea, select, [role="dialog"]');
}

export function Toast({ toast, busy = false, onUndo, onDismiss, onFocusLost, timeoutMs = TOAST_MS }: Props) {
  const [hovered, setHovered] = useState(false);
  const [focused, setFocused] = useState(false);
  const host = useRef<HTMLDivElement>(null);
  const closeBtn = useRef<HTMLButtonElement>(null);
  const remaining = useRef(timeoutMs);
  const paused = hovered || focused || busy;
  const id = toast?.id;

  // Each toast has its full time; time spent paused does not count.
  useEffect(() => {
    remaining.current = timeoutMs;
  }, [id, timeoutMs]);

  useEffect(() => {
    if (id === undefined || paused) return;
    const started = Date.now();
    const timer = setTimeout(onDismiss, Math.max(remaining.current, 0));
    return () => {
      clearTimeout(timer);
      remaining.current -= Date.now() - started;
    };
  }, [id, paused, onDismiss]);

  // A toast that had focus and is gone (dismissed, timed out) hands it back to the panel; one replaced
  // by a toast without Undo keeps it on ×.
  useEffect(() => {
    if (!focused) return;
    const el = host.current;
    if (el && el.contains(document.activeElement)) return;
    if (toast) closeBtn.current?.focus();
    else {
      setFocused(false);
      onFocusLost?.();
    }
  }, [toast, focused, onFocusLost]);

  useEffect(() => {
    if (!toast?.undo || busy) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key.toLowerCase() !== "z" || !(e.ctrlKey || e.metaKey) || e.shiftKey || e.altKey || editable(e.target)) return;
      e.preventDefault();
      onUndo();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [toast?.undo, busy, onUndo]);

  const Icon = toast ? ICONS[toast.tone] : null;
  return (
    <div
      ref={host}
      className="toast-host"
      role="status"
      aria-live="polite"
      onPointerEnter={() => setHovered(true)}
      onPointerLeave={() => setHovered(false)}
      onFocus={() => setFocused(true)}
      onBlur={(e) => {
        // Focus leaving for somewhere else, not a button of ours going away (that fires no blur).
        const left = e.target;
        const to = e.relatedTarget as Node | null;
        if (to && e.currentTarget.contains(to)) return;
        queueMicrotask(() => {
          if (left.isConnected && !host.current?.contains(document.activeElement)) setFocused(false);
        });
      }}
      onKeyDown={(e) => {
        if (e.key === "Escape" && toast) {
          e.preventDefault();
          e.stopPropagation();
          onDismiss();
        }
      }}
    >
      {toast && Icon && (
        <div className="toast" data-tone={toast.tone} data-paused={paused || undefined}>
          <span className="toast-icon">
            <Icon />
          </span>
          <p className="toast-msg">{toast.message}</p>
          {toast.undo && (
            <button
              type="button"
              className="toast-undo"
              onClick={() => !busy && onUndo()}
              aria-disabled={busy || undefined}
              aria-keyshortcuts="Control+Z Meta+Z"
              title="Undo (Ctrl+Z)"
            >
              Undo
            </button>
          )}
          <button type="button" ref={closeBtn} className="toast-close" onClick={onDismiss} aria-label="Dismiss" title="Dismiss">
            <CloseIcon />
          </button>
          <span key={toast.id} className="toast-timer" style={{ animationDuration: `${timeoutMs}ms` }} aria-hidden="true" />
        </div>
      )}
    </div>
  );
}
