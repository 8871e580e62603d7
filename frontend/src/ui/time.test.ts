import { describe, expect, it } from "vitest";
import { absoluteTime, relativeTime } from "./time";

describe("relativeTime", () => {
  const now = new Date("2026-12-03T18:00:00Z");
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  it.for([
    [0, "just now"],
    [44_000, "just now"],
    [-5_000, "just now"],
    [60_000, "1 min ago"],
    [2 * 60_000, "2 min ago"],
    [59 * 60_000, "59 min ago"],
    [60 * 60_000, "1 hour ago"],
    [5 * 3_600_000, "5 hours ago"],
    [24 * 3_600_000, "1 day ago"],
    [6 * 86_400_000, "6 days ago"],
  ] as [number, string][])("%i ms ago reads “%s”", ([ms, text]) => {
    expect(relativeTime(ago(ms), now)).toBe(text);
  });

  it("gives the date after a week, with the year when it is not this one", () => {
    expect(relativeTime("2026-11-20T12:00:00Z", now)).toMatch(/20/);
    expect(relativeTime("2026-11-20T12:00:00Z", now)).not.toMatch(/2026/);
    expect(relativeTime("2024-11-20T12:00:00Z", now)).toMatch(/2024/);
  });

  it("the absolute time names the day and the time", () => {
    expect(absoluteTime("2026-12-03T18:00:00Z")).toMatch(/2026/);
    expect(absoluteTime("2026-12-03T18:00:00Z")).toMatch(/\d{1,2}:\d{2}/);
  });
});
