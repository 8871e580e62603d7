import { act, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Toast, TOAST_MS, type ToastData } from "./Toast";

const t = (id: number, message = "Deleted “Buy milk”.", undo = true): ToastData => ({ id, message, tone: "done", undo });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(toast: ToastData | null) {
  const onUndo = vi.fn();
  const onDismiss = vi.fn();
  const utils = render(<Toast toast={toast} onUndo={onUndo} onDismiss={onDismiss} />);
  return { ...utils, onUndo, onDismiss, show: (next: ToastData | null) => utils.rerender(<Toast toast={next} onUndo={onUndo} onDismiss={onDismiss} />) };
}

describe("Toast", () => {
  it("is a polite live region that is there before any toast, so each one is announced", () => {
    const { show } = setup(null);
    const region = screen.getByRole("status");
    expect(region).toHaveAttribute("aria-live", "polite");
    expect(region).toBeEmptyDOMElement();
    show(t(1));
    expect(screen.getByRole("status")).toBe(region);
    expect(region).toHaveTextContent("Deleted “Buy milk”.");
    expect(screen.getByRole("button", { name: "Undo" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Dismiss" })).toBeInTheDocument();
  });

  it(`goes after ${TOAST_MS} ms; a new toast starts the time again`, () => {
    const { onDismiss, show } = setup(t(1));
    act(() => vi.advanceTimersByTime(TOAST_MS - 1000));
    show(t(2, "Undone: Deleted “Buy milk”."));
    act(() => vi.advanceTimersByTime(TOAST_MS - 1000));
    expect(onDismiss).not.toHaveBeenCalled();
    act(() => vi.advanceTimersByTime(1000));
    expect(onDismiss).toHaveBeenCalledTimes(1);
  });

  it("stays while the pointer is over it or focus is in it, then has the rest of its time", () => {
    const { onDismiss } = setup(t(1));
    act(() => vi.advanceTimersByTime(2000));
    fireEvent.pointerEnter(screen.getByRole("status"));
    act(() => vi.advanceTimersByTime(TOAST_MS * 3));
    expect(onDismiss).not.toHaveBeenCalled();
    fireEvent.pointerLeave(screen.getByRole("status"));
    act(() => vi.advanceTimersByTime(TOAST_MS - 2000 - 10));
    expect(onDismiss).not.toHaveBeenCalled();
    act(() => vi.advanceTimersByTime(10));
    expect(onDismiss).toHaveBeenCalledTimes(1);

    onDismiss.mockClear();
    act(() => screen.getByRole("button", { name: "Undo" }).focus());
    act(() => vi.advanceTimersByTime(TOAST_MS * 3));
    expect(onDismiss).not.toHaveBeenCalled();
  });

  it("Undo, × and Escape; Undo is not offered when the toast says it cannot be", () => {
    const { onUndo, onDismiss, show } = setup(t(1));
    fireEvent.click(screen.getByRole("button", { name: "Undo" }));
    expect(onUndo).toHaveBeenCalledTimes(1);
    fireEvent.click(screen.getByRole("button", { name: "Dismiss" }));
    fireEvent.keyDown(screen.getByRole("button", { name: "Undo" }), { key: "Escape" });
    expect(onDismiss).toHaveBeenCalledTimes(2);
    show({ id: 2, message: "Couldn’t undo: there is nothing to undo.", tone: "error", undo: false });
    expect(screen.queryByRole("button", { name: "Undo" })).toBeNull();
  });

  it("Ctrl+Z or ⌘Z presses Undo, but not in a text field, nor without an Undo", () => {
    const { onUndo, show } = setup(t(1));
    fireEvent.keyDown(document.body, { key: "z", ctrlKey: true });
    fireEvent.keyDown(document.body, { key: "z", metaKey: true });
    fireEvent.keyDown(document.body, { key: "z", ctrlKey: true, shiftKey: true });
    expect(onUndo).toHaveBeenCalledTimes(2);
    const input = document.createElement("input");
    document.body.append(input);
    fireEvent.keyDown(input, { key: "z", ctrlKey: true });
    input.remove();
    show(t(2, "Couldn’t undo.", false));
    fireEvent.keyDown(document.body, { key: "z", ctrlKey: true });
    expect(onUndo).toHaveBeenCalledTimes(2);
  });

  it("keeps focus when the toast it is in is replaced, and hands it back when the toast goes", () => {
    const onFocusLost = vi.fn();
    const props = { onUndo: vi.fn(), onDismiss: vi.fn(), onFocusLost };
    const { rerender } = render(<Toast toast={t(1)} {...props} />);
    act(() => screen.getByRole("button", { name: "Undo" }).focus());
    rerender(<Toast toast={t(2, "Undone: x.")} {...props} />);
    expect(screen.getByRole("button", { name: "Undo" })).toHaveFocus();
    rerender(<Toast toast={{ id: 3, message: "Couldn’t undo: x.", tone: "error", undo: false }} {...props} />);
    expect(screen.getByRole("button", { name: "Dismiss" })).toHaveFocus();
    rerender(<Toast toast={null} {...props} />);
    expect(onFocusLost).toHaveBeenCalledTimes(1);
  });
});
