/** How long ago an instant was, in words ("just now", "2 min ago", "3 hours ago", "4 days ago", "3 Dec"). */
export function relativeTime(at: string | Date, now: Date = new Date()): string {
  const t = typeof at === "string" ? new Date(at) : at;
  const seconds = Math.round((now.getTime() - t.getTime()) / 1000);
  if (!Number.isFinite(seconds) || seconds < 45) return "just now"; // a clock a little ahead, too
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return hours === 1 ? "1 hour ago" : `${hours} hours ago`;
  const days = Math.round(hours / 24);
  if (days < 7) return days === 1 ? "1 day ago" : `${days} days ago`;
  return t.toLocaleDateString(undefined, { day: "numeric", month: "short", ...(t.getFullYear() === now.getFullYear() ? {} : { year: "numeric" }) });
}

/** An instant in full, in the browser's zone and language ("Dec 3, 2025, 6:31 PM"). */
export function absoluteTime(at: string | Date): string {
  const t = typeof at === "string" ? new Date(at) : at;
  return t.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
