/**
 * The fake's REST API against the backend's OpenAPI document (openapi.json here, saved from a real
 * `smart-todo serve`: `curl -s $SERVE_URL/api/openapi.json | python3 -m json.tool --sort-keys --indent 2`). For each
 * sample request — the kinds the UI sends — the request must fit the document (query parameters it names,
 * body fields of a schema that allows no others) and the fake's answer must be one the operation
 * documents: its status, its media type, and a body matching the schema (types, required fields, enums,
 * and no field the schema does not name). A sample whose path the document does not have yet is skipped,
 * and says so.
 */
import { describe, expect, it } from "vitest";
import { FakeBackend, fakeToken } from "./fakeBackend";
import doc from "./openapi.json";

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  additionalProperties?: boolean | Schema;
};
type Operation = {
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
};

const paths = (doc as unknown as { paths: Record<string, Record<string, Operation>> }).paths;
const schemas = (doc as unknown as { components: { schemas: Record<string, Schema> } }).components.schemas;

function resolve(s: Schema): Schema {
  let out = s;
  while (out.$ref) out = schemas[out.$ref.replace("#/components/schemas/", "")];
  return out;
}

const jsonType = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);

/** What about `value` does not fit `schema` (empty when it fits). */
function check(schema: Schema, value: unknown, at = "$"): string[] {
  const s = resolve(schema);
  const alternatives = s.oneOf ?? s.anyOf;
  if (alternatives) {
    const tries = alternatives.map((alt) => check(alt, value, at));
    return tries.some((t) => t.length === 0) ? [] : tries.sort((a, b) => a.length - b.length)[0];
  }
  if (s.allOf) return s.allOf.flatMap((part) => check(part, value, at));
  if (s.enum && !s.enum.includes(value)) return [`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`];
  if (s.type) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const t = jsonType(value);
    if (!types.includes(t) && !(t === "integer" && types.includes("number"))) return [`${at}: ${t}, expected ${types.join(" or ")}`];
  }
  const problems: string[] = [];
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    for (const k of s.required ?? []) if (!(k in o)) problems.push(`${at}: missing ${k}`);
    for (const [k, v] of Object.entries(o)) {
      const prop = s.properties?.[k];
      if (prop) problems.push(...check(prop, v, `${at}.${k}`));
      else if (s.properties && s.additionalProperties !== true) problems.push(`${at}: ${k} is not in the schema`);
    }
  }
  if (Array.isArray(value) && s.items) value.forEach((v, i) => problems.push(...check(s.items!, v, `${at}[${i}]`)));
  return problems;
}

/** The documented path template a concrete path matches ("/api/tasks/3" → "/api/tasks/{id}"). */
function template(path: string): string | null {
  return (
    Object.keys(paths).find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path)) ?? null
  );
}

/** `user`: who asks (default "contract"); `headers`: more request headers. */
type Sample = { name: string; method: string; url: string; body?: unknown; status: number; user?: string; headers?: Record<string, string> };

const SAMPLES: Sample[] = [
  { name: "list all tasks", method: "GET", url: "/api/tasks?status=all&limit=100", status: 200 },
  { name: "the Today view", method: "GET", url: "/api/tasks?view=today&limit=100", status: 200 },
  { name: "a list, by name", method: "GET", url: "/api/tasks?list=Work&status=pending&limit=100", status: 200 },
  { name: "a tag", method: "GET", url: "/api/tasks?tag=errands&status=all&limit=100", status: 200 },
  { name: "search", method: "GET", url: "/api/tasks?q=mil&status=all&limit=100", status: 200 },
  { name: "a bad view", method: "GET", url: "/api/tasks?view=someday", status: 422 },
  {
    name: "quick add",
    method: "POST",
    url: "/api/tasks",
    body: { title: "Buy milk", due: "tomorrow 5pm", priority: "high", tags: ["errands"], list: "Shopping" },
    status: 201,
  },
  { name: "an empty title", method: "POST", url: "/api/tasks", body: { title: " " }, status: 422 },
  {
    name: "the edit dialog",
    method: "PATCH",
    url: "/api/tasks/1",
    body: { due: { date: "2027-05-06", time: "09:30", recurrence: { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" } }, priority: "low", list: "Work", tags: ["q3"] },
    status: 200,
  },
  { name: "clearing fields", method: "PATCH", url: "/api/tasks/1", body: { due: null, tags: [], priority: "none", list: "Inbox" }, status: 200 },
  { name: "a bad priority", method: "PATCH", url: "/api/tasks/1", body: { priority: "urgent" }, status: 422 },
  { name: "complete", method: "POST", url: "/api/tasks/2/complete?occurrence=2027-01-01", status: 200 },
  { name: "reopen", method: "POST", url: "/api/tasks/2/reopen", status: 200 },
  { name: "one task", method: "GET", url: "/api/tasks/1", status: 200 },
  { name: "no such task", method: "GET", url: "/api/tasks/99", status: 404 },
  { name: "delete a task", method: "DELETE", url: "/api/tasks/3", status: 204 },
  { name: "the profile", method: "GET", url: "/api/me", status: 200 },
  { name: "a bad zone", method: "PATCH", url: "/api/me", body: { timezone: "Mars/Olympus" }, status: 422 },
  { name: "a due phrase", method: "GET", url: "/api/due/parse?text=tomorrow", status: 200 },
  { name: "a bad due phrase", method: "GET", url: "/api/due/parse?text=whenever", status: 422 },
  { name: "the quick-add preview", method: "GET", url: "/api/parse?text=Buy%20milk%20tomorrow%205pm%20%23errands%20!high", status: 200 },
  { name: "a line without a title", method: "GET", url: "/api/parse?text=%23errands%20!high", status: 422 },
  { name: "the counts", method: "GET", url: "/api/counts", status: 200 },
  { name: "the lists", method: "GET", url: "/api/lists", status: 200 },
  { name: "a new list", method: "POST", url: "/api/lists", body: { name: "Errands" }, status: 201 },
  { name: "a list name taken", method: "POST", url: "/api/lists", body: { name: "work" }, status: 409 },
  { name: "renaming a list", method: "PATCH", url: "/api/lists/1", body: { name: "Office" }, status: 200 },
  { name: "renaming the Inbox", method: "PATCH", url: "/api/lists/0", body: { name: "Box" }, status: 409 },
  { name: "deleting a list", method: "DELETE", url: "/api/lists/1", status: 204 },
  { name: "a write from the web app", method: "PATCH", url: "/api/tasks/1", body: { priority: "low" }, status: 200, headers: { "X-Smart-Todo-Client": "web" } },
  { name: "an unknown client", method: "POST", url: "/api/tasks", body: { title: "x" }, status: 400, headers: { "X-Smart-Todo-Client": "curl" } },
  { name: "the history", method: "GET", url: "/api/activity", status: 200 },
  { name: "a task's history, as the edit dialog asks", method: "GET", url: "/api/activity?task_id=1&limit=20", status: 200 },
  { name: "older history", method: "GET", url: "/api/activity?task_id=1&limit=1&cursor=2", status: 200 },
  { name: "a bad history page size", method: "GET", url: "/api/activity?limit=0", status: 422 },
  { name: "the trash", method: "GET", url: "/api/trash?limit=100", status: 200 },
  { name: "a bad trash cursor", method: "GET", url: "/api/trash?cursor=x.y", status: 422 },
  { name: "restore", method: "POST", url: "/api/tasks/4/restore", status: 200 },
  { name: "restore a task not in the trash", method: "POST", url: "/api/tasks/1/restore", status: 404 },
  { name: "undo", method: "POST", url: "/api/undo", body: {}, status: 200, headers: { "X-Smart-Todo-Client": "web" } },
  { name: "undo a chat turn of nobody's", method: "POST", url: "/api/undo", body: { turn_id: "00000000-0000-4000-8000-0000000000ff" }, status: 404 },
  { name: "undo with a bad turn", method: "POST", url: "/api/undo", body: { turn_id: "not-a-uuid" }, status: 422 },
  { name: "nothing to undo", method: "POST", url: "/api/undo", body: {}, status: 409, user: "newcomer" },
];

/** Three tasks, some history (task 1 renamed and completed) and a task in the trash (4). */
async function seeded(): Promise<FakeBackend> {
  const b = new FakeBackend();
  b.addTask("contract", "Buy milk", "semi-skimmed", false, { due: b.due("contract", 0, "17:00"), priority: "high", tags: ["errands"], list: "Work" });
  b.addTask("contract", "Water the plants", null, false, { due: b.due("contract", 1, null, "FREQ=DAILY") });
  b.addTask("contract", "Read", null, true);
  const headers = { Authorization: `Bearer ${fakeToken("contract")}`, "Content-Type": "application/json", "X-Smart-Todo-Client": "web" };
  await b.fetch("/api/tasks/1", { method: "PATCH", headers, body: JSON.stringify({ title: "Buy oat milk" }) });
  await b.fetch("/api/tasks/1/complete", { method: "POST", headers });
  await b.fetch("/api/tasks", { method: "POST", headers, body: JSON.stringify({ title: "Old", due: "tomorrow" }) });
  await b.fetch("/api/tasks/4", { method: "DELETE", headers });
  return b;
}

describe("the fake's REST API matches the backend's OpenAPI document", () => {
  it.for(SAMPLES)("$method $url ($name)", async (sample, ctx) => {
    const u = new URL(sample.url, "http://localhost");
    const path = template(u.pathname);
    if (!path || !paths[path][sample.method.toLowerCase()]) {
      ctx.skip(`${sample.method} ${u.pathname} is not in openapi.json yet`);
      return;
    }
    const op = paths[path][sample.method.toLowerCase()];

    // The request, as the UI sends it, fits the document.
    const params = new Set((op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name));
    expect([...u.searchParams.keys()].filter((k) => !params.has(k)), "undocumented query parameters").toEqual([]);
    if (sample.body !== undefined) {
      const body = op.requestBody?.content["application/json"]?.schema;
      expect(body, "a request body").toBeDefined();
      const s = resolve(body!);
      const fields = Object.keys(sample.body as object);
      if (s.additionalProperties === false) expect(fields.filter((f) => !(f in (s.properties ?? {}))), "body fields the schema does not allow").toEqual([]);
    }

    // The fake's answer is one the operation documents.
    const res = await (await seeded()).fetch(sample.url, {
      method: sample.method,
      headers: { Authorization: `Bearer ${fakeToken(sample.user ?? "contract")}`, "Content-Type": "application/json", ...sample.headers },
      body: sample.body === undefined ? undefined : JSON.stringify(sample.body),
    });
    expect(res.status, "status").toBe(sample.status);
    const documented = op.responses[String(res.status)];
    expect(documented, `status ${res.status} documented`).toBeDefined();
    const text = await res.text();
    if (!documented.content) {
      expect(text, "an empty body").toBe("");
      return;
    }
    const type = (res.headers.get("Content-Type") ?? "").split(";")[0];
    expect(Object.keys(documented.content), "media type").toContain(type);
    const parsed = JSON.parse(text);
    expect(check(documented.content[type].schema, parsed), "body against the schema").toEqual([]);
    // The pages the new routes answer are not empty, so the check above saw real items.
    if (res.status === 200 && /^\/api\/(activity|trash)/.test(u.pathname)) expect((parsed.events ?? parsed.tasks).length, "items on the page").toBeGreaterThan(0);
    if (res.status === 200 && u.pathname === "/api/undo") expect(parsed.undone.length, "events undone").toBeGreaterThan(0);
  });

  it("every sample of a history route checks something: the routes are in the document", () => {
    for (const path of ["/api/activity", "/api/trash", "/api/undo", "/api/tasks/{id}/restore"]) expect(paths[path], path).toBeDefined();
    const event = {
      id: 1, task_id: 1, kind: "moved", source: "ui", turn_id: null, before: { list: "Inbox" }, after: { list: "Work" },
      at: "2026-12-03T18:00:00Z", undoes: null, undone: false, title: "x", summary: "Moved “x” to Work",
    };
    expect(check({ $ref: "#/components/schemas/Event" }, event)).toEqual([]);
    expect(check({ $ref: "#/components/schemas/Event" }, { ...event, source: "web" }).join()).toMatch(/not one of/);
  });

  it("the checker notices a missing field, a wrong type, an unknown field and a value outside an enum", () => {
    const task = { id: 1, title: "x", completed: false, created_at: "t", updated_at: "t", priority: "none", list: "Inbox", tags: [] };
    expect(check({ $ref: "#/components/schemas/Task" }, task)).toEqual([]);
    const { title: _title, ...untitled } = task;
    void _title;
    expect(check({ $ref: "#/components/schemas/Task" }, untitled).join()).toMatch(/missing title/);
    expect(check({ $ref: "#/components/schemas/Task" }, { ...task, id: "1" }).join()).toMatch(/\$\.id: string, expected integer/);
    expect(check({ $ref: "#/components/schemas/Task" }, { ...task, colour: "red" }).join()).toMatch(/colour is not in the schema/);
    expect(check({ $ref: "#/components/schemas/Task" }, { ...task, priority: "urgent" }).join()).toMatch(/not one of/);
  });
});
