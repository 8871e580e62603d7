/**
 * Due dates for the fake backend: the server's rendering ("Fri 5 Dec, 17:00", the year only when it is
 * not the current one), its recurrence texts, and a small subset of its phrase parser (shared/src/due.rs):
 * today / tonight / tomorrow / a weekday / "next <weekday>" / "in N days" / YYYY-MM-DD, optionally with a
 * time ("5pm", "17:30", "at 9"), and "every day|weekday|week|2 weeks|month|year|<weekday> [at T]". Only
 * what the UI tests use; the real parser knows far more.
 */
import type { Due } from "../api/tasks";

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const CODES = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The local date of `now` in `zone`, YYYY-MM-DD. */
export function localDate(now: Date, zone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(now);
}

/** The local time of `now` in `zone`, HH:MM. */
function localTime(now: Date, zone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(now);
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function addMonths(date: string, months: number): string {
  const [y, m, day] = date.split("-").map(Number);
  const total = y * 12 + (m - 1) + months;
  const year = Math.floor(total / 12);
  const month = total % 12;
  const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month, Math.min(day, last))).toISOString().slice(0, 10);
}

const weekday = (date: string) => new Date(`${date}T00:00:00Z`).getUTCDay();

/** The instant of a local date and time in `zone` (the zone's offset at about that time). */
function instant(date: string, time: string, zone: string): string {
  const guess = new Date(`${date}T${time}:00Z`);
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).formatToParts(guess);
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const shown = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"));
  return new Date(guess.getTime() - (shown - guess.getTime())).toISOString().replace(".000Z", "Z");
}

type Rule = { freq: "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY"; interval: number; byDay: number[] };

/** Reads the RRULE subset (FREQ, INTERVAL, BYDAY); null when it is not one. */
export function parseRule(rule: string): Rule | null {
  const parts = new Map(
    rule
      .replace(/^RRULE:/i, "")
      .split(";")
      .filter(Boolean)
      .map((p) => p.toUpperCase().split("=") as [string, string]),
  );
  const freq = parts.get("FREQ");
  if (freq !== "DAILY" && freq !== "WEEKLY" && freq !== "MONTHLY" && freq !== "YEARLY") return null;
  const interval = Number(parts.get("INTERVAL") ?? "1");
  if (!Number.isInteger(interval) || interval < 1) return null;
  const byDay = (parts.get("BYDAY") ?? "")
    .split(",")
    .filter(Boolean)
    .map((c) => CODES.indexOf(c));
  if (byDay.some((d) => d < 0) || (byDay.length && freq !== "WEEKLY")) return null;
  for (const k of parts.keys()) if (!["FREQ", "INTERVAL", "BYDAY"].includes(k)) return null;
  byDay.sort((a, b) => ((a + 6) % 7) - ((b + 6) % 7));
  return { freq, interval, byDay };
}

function ruleText(r: Rule): string {
  let body = `FREQ=${r.freq}`;
  if (r.interval > 1) body += `;INTERVAL=${r.interval}`;
  if (r.byDay.length) body += `;BYDAY=${r.byDay.map((d) => CODES[d]).join(",")}`;
  return body;
}

function describe(r: Rule, time: string | null): string {
  const unit = { DAILY: "day", WEEKLY: "week", MONTHLY: "month", YEARLY: "year" }[r.freq];
  let text = r.interval === 1 ? `every ${unit}` : `every ${r.interval} ${unit}s`;
  const days = r.byDay.map((d) => WEEKDAYS[d][0].toUpperCase() + WEEKDAYS[d].slice(1));
  if (r.byDay.join() === "1,2,3,4,5") text = "every weekday";
  else if (days.length) text = `every ${days.length > 1 ? `${days.slice(0, -1).join(", ")} and ${days.at(-1)}` : days[0]}`;
  return time ? `${text} at ${time}` : text;
}

/** The next date of a rule after `date`. */
export function nextAfter(rule: string, date: string): string {
  const r = parseRule(rule)!;
  if (r.freq === "DAILY") return addDays(date, r.interval);
  if (r.freq === "MONTHLY") return addMonths(date, r.interval);
  if (r.freq === "YEARLY") return addMonths(date, 12 * r.interval);
  if (!r.byDay.length) return addDays(date, 7 * r.interval);
  let d = addDays(date, 1);
  while (!r.byDay.includes(weekday(d))) d = addDays(d, 1);
  return d;
}

/** A Due as the server builds it (`Due::new`). */
export function makeDue(date: string, time: string | null, zone: string, rule: string | null, now: Date): Due {
  const d = new Date(`${date}T00:00:00Z`);
  const thisYear = Number(localDate(now, zone).slice(0, 4));
  let text = `${WEEKDAYS[d.getUTCDay()].slice(0, 1).toUpperCase()}${WEEKDAYS[d.getUTCDay()].slice(1, 3)} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  if (d.getUTCFullYear() !== thisYear) text += ` ${d.getUTCFullYear()}`;
  if (time) text += `, ${time}`;
  const parsed = rule ? parseRule(rule) : null;
  return {
    date,
    time,
    timezone: zone,
    at: time ? instant(date, time, zone) : null,
    recurrence: parsed ? { rule: ruleText(parsed), text: describe(parsed, time) } : null,
    text,
  };
}

/** "5pm", "5:30pm", "17:00" (and after "at": "9", "17"); null when it is not a time. */
function readTime(words: string[], i: number): { time: string; next: number } | null {
  let at = i;
  const hasAt = words[at] === "at";
  if (hasAt) at++;
  const w = words[at];
  if (!w) return null;
  const m = /^(\d{1,2})(?::(\d{2}))?(am|pm)?$/.exec(w);
  if (!m || (!hasAt && !m[2] && !m[3])) return null;
  let h = Number(m[1]);
  const min = Number(m[2] ?? "0");
  if (m[3] === "pm" && h < 12) h += 12;
  if (m[3] === "am" && h === 12) h = 0;
  if (h > 23 || min > 59) return null;
  return { time: `${String(h).padStart(2, "0")}:${String(min).padStart(2, "0")}`, next: at + 1 };
}

/** Reads all of `words` as one due phrase; null when the fake does not know it. */
export function parseDueWords(words: string[], now: Date, zone: string): Due | null {
  const today = localDate(now, zone);
  let i = words[0] === "on" || words[0] === "by" || words[0] === "due" ? 1 : 0;
  let date: string | null = null;
  let time: string | null = null;
  let rule: string | null = null;
  const w = words[i];
  const day = (s: string | undefined) => WEEKDAYS.findIndex((d) => s === d || s === d.slice(0, 3));
  if (w === "every") {
    const unit = words[i + 1];
    i += 2;
    if (unit === "day") rule = "FREQ=DAILY";
    else if (unit === "weekday") rule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR";
    else if (unit === "week") rule = "FREQ=WEEKLY";
    else if (unit === "month") rule = "FREQ=MONTHLY";
    else if (unit === "year") rule = "FREQ=YEARLY";
    else if (unit === "2" && words[i] === "weeks") {
      rule = "FREQ=WEEKLY;INTERVAL=2";
      i++;
    } else if (day(unit) >= 0) rule = `FREQ=WEEKLY;BYDAY=${CODES[day(unit)]}`;
    else return null;
  } else if (w === "today" || w === "tonight") {
    date = today;
    if (w === "tonight") time = "20:00";
    i++;
  } else if (w === "tomorrow") {
    date = addDays(today, 1);
    i++;
  } else if (w === "in" && /^\d+$/.test(words[i + 1] ?? "") && /^days?$/.test(words[i + 2] ?? "")) {
    date = addDays(today, Number(words[i + 1]));
    i += 3;
  } else if (w === "next" && day(words[i + 1]) >= 0) {
    const monday = addDays(today, 7 - ((weekday(today) + 6) % 7));
    date = addDays(monday, (day(words[i + 1]) + 6) % 7);
    i += 2;
  } else if (day(w) >= 0) {
    date = addDays(today, ((day(w) - weekday(today) + 6) % 7) + 1);
    i++;
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(w ?? "")) {
    date = w;
    i++;
  }
  const t = readTime(words, i);
  if (t) {
    time = t.time;
    i = t.next;
  }
  if (i !== words.length || (!date && !time && !rule)) return null;
  const passed = (d: string) => d === today && time !== null && time <= localTime(now, zone);
  if (rule) {
    date = today;
    const r = parseRule(rule)!;
    while ((r.byDay.length && !r.byDay.includes(weekday(date))) || passed(date)) date = addDays(date, 1);
  } else if (!date) {
    date = passed(today) ? addDays(today, 1) : today;
  }
  return makeDue(date, time, zone, rule, now);
}

export function parseDuePhrase(text: string, now: Date, zone: string): Due | null {
  const words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  return words.length ? parseDueWords(words, now, zone) : null;
}
