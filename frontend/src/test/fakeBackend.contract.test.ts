/**
 * The fake ChatKit server (FakeBackend) against transcripts recorded from the real server, so the fake the
 * UI tests run against cannot drift from what the server really sends.
 *
 * Transcript format: src/test/transcripts/<scenario>.json is a JSON array of steps, sent in order by one
 * fresh user (no tasks, no threads). Each step is an object:
 *   request        {type, params, idempotency_key?}: the ChatKit request body (`type` and `params`);
 *                  `idempotency_key`, when present, is sent as the `Idempotency-Key` header.
 *   while_running  (optional) the index of an earlier step whose turn must still be running when this
 *                  step is sent; that earlier step's answer is recorded in full once its turn ends.
 *   status         the HTTP status of the answer.
 *   content_type   its media type, without parameters.
 *   events         for `text/event-stream`: the JSON of every `data:` frame, in order (comments such as
 *                  `: keep-alive` are not events and are left out); or
 *   body           for any other answer: the JSON document (problem+json included).
 * Values that change from run to run are placeholders: "<ts>" any timestamp; "<id>" any id; "<id:NAME>"
 * an id that is the same wherever NAME appears in the file and differs from every other NAME's (in a
 * request, a NAME no earlier answer showed stands for a well-formed id that names nothing);
 * "<key:NAME>" an Idempotency-Key, under the same rule.
 *
 * Compared for every step: status and content type; the sequence of event types (thread.item.updated with
 * its update's type), a run of text deltas to one item counting as one, since how a reply is chunked is
 * not part of the contract; the key sets of every event and of its item, thread and update; then the
 * whole shape: object keys, array lengths, JSON types, the placeholder rules, and the exact values of
 * booleans, of the strings under `type`, `code`, `name`, `turn_status`, `tool` and `field`, and of the
 * numbers under `status` and `content_index`. Other strings (texts, titles, messages, details) need only
 * be strings.
 */
import { describe, expect, it } from "vitest";
import { SseParser } from "../chat/sse";
import { FakeBackend, fakeToken } from "./fakeBackend";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Step = {
  request: { type: string; params: JsonObject; idempotency_key?: string };
  while_running?: number;
  status: number;
  content_type: string;
  events?: Json[];
  body?: Json;
};

const files = import.meta.glob<Step[]>("./transcripts/*.json", { eager: true, import: "default" });
const transcripts: Record<string, Step[]> = Object.fromEntries(
  Object.entries(files).map(([path, steps]) => [path.replace(/^.*\/([^/]+)\.json$/, "$1"), steps]),
);

/** The scenarios the contract needs; the recorder may add more files, and every file is checked. */
const REQUIRED = [
  "create-turn",
  "add-user-message-tool-turn",
  "busy-error",
  "replay-by-idempotency-key",
  "get-by-id",
  "items-list",
  "retry-409",
];

const LITERAL_STRINGS = new Set(["type", "code", "name", "turn_status", "tool", "field"]);
const LITERAL_NUMBERS = new Set(["status", "content_index"]);
const PLACEHOLDER = /^<(id|key):(.+)>$/;

const isObject = (v: Json | undefined): v is JsonObject => !!v && typeof v === "object" && !Array.isArray(v);

/** Placeholder ↔ actual value, one to one. */
class Bindings {
  private forward = new Map<string, string>();
  private backward = new Map<string, string>();
  private fresh = 0;

  /** The actual value of a placeholder in a request (a fresh one if no answer showed it yet). */
  resolve(placeholder: string): string {
    const known = this.forward.get(placeholder);
    if (known !== undefined) return known;
    const kind = PLACEHOLDER.exec(placeholder)![1];
    const value = kind === "key" ? `contract-key-${++this.fresh}` : `unknown-${++this.fresh}`;
    this.forward.set(placeholder, value);
    this.backward.set(value, placeholder);
    return value;
  }

  bind(placeholder: string, actual: string, path: string, problems: string[]) {
    const was = this.forward.get(placeholder);
    const other = this.backward.get(actual);
    if (was !== undefined && was !== actual) problems.push(`${path}: ${placeholder} was ${JSON.stringify(was)}, now ${JSON.stringify(actual)}`);
    else if (other !== undefined && other !== placeholder) problems.push(`${path}: ${JSON.stringify(actual)} is ${other} and ${placeholder}`);
    else {
      this.forward.set(placeholder, actual);
      this.backward.set(actual, placeholder);
    }
  }
}

/** Checks `actual` against the recorded `expected` (see the rules above); returns what differs. */
function match(expected: Json, actual: Json | undefined, bindings: Bindings, path = "$", key = "", problems: string[] = []): string[] {
  const kind = (v: Json | undefined) => (v === undefined ? "missing" : v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
  if (kind(expected) !== kind(actual)) {
    problems.push(`${path}: expected ${kind(expected)}, got ${kind(actual)}`);
    return problems;
  }
  if (typeof expected === "string") {
    const a = actual as string;
    const m = PLACEHOLDER.exec(expected);
    if (expected === "<ts>") {
      if (Number.isNaN(Date.parse(a))) problems.push(`${path}: ${JSON.stringify(a)} is not a timestamp`);
    } else if (m) {
      bindings.bind(expected, a, path, problems);
    } else if (expected !== "<id>" && LITERAL_STRINGS.has(key) && a !== expected) {
      problems.push(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(a)}`);
    }
  } else if (typeof expected === "number") {
    if (LITERAL_NUMBERS.has(key) && actual !== expected) problems.push(`${path}: expected ${expected}, got ${String(actual)}`);
  } else if (typeof expected === "boolean") {
    if (actual !== expected) problems.push(`${path}: expected ${expected}, got ${String(actual)}`);
  } else if (Array.isArray(expected)) {
    const a = actual as Json[];
    if (a.length !== expected.length) problems.push(`${path}: expected ${expected.length} elements, got ${a.length}`);
    for (let i = 0; i < Math.min(a.length, expected.length); i++) match(expected[i], a[i], bindings, `${path}[${i}]`, key, problems);
  } else if (isObject(expected)) {
    const a = actual as JsonObject;
    const missing = Object.keys(expected).filter((k) => !(k in a));
    const extra = Object.keys(a).filter((k) => !(k in expected));
    if (missing.length) problems.push(`${path}: missing keys ${missing.join(", ")}`);
    if (extra.length) problems.push(`${path}: unexpected keys ${extra.join(", ")}`);
    for (const k of Object.keys(expected)) if (k in a) match(expected[k], a[k], bindings, `${path}.${k}`, k, problems);
  }
  return problems;
}

const isDelta = (e: Json) =>
  isObject(e) && e.type === "thread.item.updated" && isObject(e.update) && e.update.type === "assistant_message.content_part.text_delta";

/** A run of text deltas to one item counts as one step. */
function collapse(events: Json[]): Json[] {
  const out: Json[] = [];
  for (const e of events) {
    const prev = out[out.length - 1];
    if (isDelta(e) && prev !== undefined && isDelta(prev) && (prev as JsonObject).item_id === (e as JsonObject).item_id) continue;
    out.push(e);
  }
  return out;
}

const label = (e: Json) => {
  if (!isObject(e)) return kindName(e);
  const update = isObject(e.update) ? `:${String(e.update.type)}` : "";
  return `${String(e.type)}${update}`;
};
const kindName = (e: Json) => (Array.isArray(e) ? "array" : typeof e);
const keys = (v: Json | undefined) => (isObject(v) ? Object.keys(v).sort() : null);
const keySets = (e: Json) => {
  const o = isObject(e) ? e : {};
  return { event: keys(e), item: keys(o.item), thread: keys(o.thread), update: keys(o.update) };
};

function substitute(v: Json, bindings: Bindings): Json {
  if (typeof v === "string") {
    if (v === "<id>" || v === "<ts>") throw new Error(`a request cannot use ${v}: name the placeholder`);
    return PLACEHOLDER.test(v) ? bindings.resolve(v) : v;
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, bindings));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, bindings)]));
  return v;
}

/** One request in flight: its answer so far. */
type Live = { status: number; contentType: string; events: Json[]; body?: Json; done: Promise<void> };

async function start(backend: FakeBackend, step: Step, bindings: Bindings): Promise<Live> {
  const headers = new Headers({ "Content-Type": "application/json", Authorization: `Bearer ${fakeToken("contract")}` });
  const key = step.request.idempotency_key;
  if (key !== undefined) headers.set("Idempotency-Key", substitute(key, bindings) as string);
  const body = JSON.stringify({ type: step.request.type, params: substitute(step.request.params, bindings) });
  const res = await backend.fetch("/chatkit", { method: "POST", headers, body });
  const contentType = (res.headers.get("Content-Type") ?? "").split(";")[0].trim();
  const live: Live = { status: res.status, contentType, events: [], done: Promise.resolve() };
  if (contentType === "text/event-stream" && res.body) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    live.done = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const data of parser.push(decoder.decode(value, { stream: true }))) live.events.push(JSON.parse(data) as Json);
      }
    })();
  } else {
    const text = await res.text();
    live.body = text ? (JSON.parse(text) as Json) : null;
  }
  return live;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** Waits until a held stream stops growing (it reached the point where its turn waits). */
async function settle(live: Live) {
  let seen = -1;
  for (let still = 0; still < 3; ) {
    await tick();
    if (live.events.length === seen) still++;
    else {
      seen = live.events.length;
      still = 0;
    }
  }
}

/** Plays a transcript's requests against a fresh FakeBackend; returns the answers, in file order. */
async function play(steps: Step[], bindings: Bindings): Promise<Live[]> {
  const backend = new FakeBackend();
  const answers: Live[] = [];
  const holds = new Map<number, () => void>();
  const release = async (from: number) => {
    for (const [i, open] of [...holds]) {
      if (steps.slice(from).some((s) => s.while_running === i)) continue;
      holds.delete(i);
      open();
      await answers[i].done;
      match(collapse(steps[i].events ?? []), collapse(answers[i].events), bindings, `step ${i}`);
    }
  };
  for (let i = 0; i < steps.length; i++) {
    await release(i);
    const step = steps[i];
    if (step.while_running !== undefined && !holds.has(step.while_running)) {
      throw new Error(`step ${i}: step ${step.while_running} is not running`);
    }
    const held = steps.some((s) => s.while_running === i);
    let open = () => {};
    if (held) backend.gate = new Promise<void>((r) => (open = r));
    const live = await start(backend, step, bindings);
    backend.gate = null;
    answers[i] = live;
    if (held) {
      holds.set(i, open);
      await settle(live);
      // Learn the ids it sent so far (later requests name them).
      const sent = collapse(live.events);
      match(collapse(step.events ?? []).slice(0, sent.length), sent, bindings, `step ${i}`);
    } else {
      await live.done;
      match(step.events ? collapse(step.events) : (step.body ?? null), step.events ? collapse(live.events) : live.body, bindings, `step ${i}`);
    }
  }
  await release(steps.length);
  return answers;
}

describe("transcripts", () => {
  it("exist for every required scenario", () => {
    expect(Object.keys(transcripts).sort()).toEqual(expect.arrayContaining(REQUIRED));
    for (const name of REQUIRED) expect(transcripts[name].length, name).toBeGreaterThan(0);
  });
});

describe("FakeBackend matches the recorded real server", () => {
  it.each(Object.keys(transcripts).sort())("%s", async (name) => {
    const steps = transcripts[name];
    const bindings = new Bindings();
    const answers = await play(steps, bindings);
    steps.forEach((step, i) => {
      const got = answers[i];
      const at = `${name} step ${i} (${step.request.type})`;
      expect({ status: got.status, content_type: got.contentType }, at).toEqual({ status: step.status, content_type: step.content_type });
      if (step.events) {
        const want = collapse(step.events);
        const have = collapse(got.events);
        expect(have.map(label), `${at}: event types`).toEqual(want.map(label));
        expect(have.map(keySets), `${at}: key sets`).toEqual(want.map(keySets));
        expect(match(want, have, bindings, at), `${at}: shape`).toEqual([]);
      } else {
        expect(keys(got.body), `${at}: keys`).toEqual(keys(step.body));
        expect(match(step.body ?? null, got.body, bindings, at), `${at}: shape`).toEqual([]);
      }
    });
  });
});

describe("the comparison", () => {
  const create = () => structuredClone(transcripts["create-turn"]);

  it("notices a missing key, a different event order and a changed literal", async () => {
    const b = new Bindings();
    const steps = create();
    const answers = await play(steps, new Bindings());
    const have = collapse(answers[0].events);
    const want = collapse(steps[0].events!);
    const thread = (want[0] as JsonObject).thread as JsonObject;
    thread.extra = "x";
    expect(match(want, have, b).join("\n")).toMatch(/missing keys extra/);
    const swapped = [want[1], want[0], ...want.slice(2)];
    expect(swapped.map(label)).not.toEqual(have.map(label));
    const literal = structuredClone(steps[0].events!);
    (literal[2] as JsonObject).stream_options = { allow_cancel: true };
    expect(match(collapse(literal), have, new Bindings()).join("\n")).toMatch(/allow_cancel: expected true, got false/);
  });

  it("notices an id that should repeat but does not (the replay must re-announce the same items)", () => {
    const b = new Bindings();
    expect(match(["<id:a>", "<id:a>"], ["msg_1", "msg_1"], b)).toEqual([]);
    expect(match(["<id:a>", "<id:a>"], ["msg_1", "msg_2"], new Bindings())).toHaveLength(1);
    expect(match(["<id:a>", "<id:b>"], ["msg_1", "msg_1"], new Bindings())).toHaveLength(1);
  });

  it("counts a run of text deltas as one step, but not deltas to different items", () => {
    const d = (item: string): Json => ({ type: "thread.item.updated", item_id: item, update: { type: "assistant_message.content_part.text_delta", delta: "x" } });
    expect(collapse([d("a"), d("a"), d("a")])).toHaveLength(1);
    expect(collapse([d("a"), d("b")])).toHaveLength(2);
  });
});
