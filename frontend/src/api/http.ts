/** HTTP helpers shared by the REST client, the chat protocol client and ChatKit's custom fetch. */

export type FieldError = { field: string; message: string };

/** An RFC 9457 problem (or a network failure, status 0) with a message a person can act on. */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string | null;
  readonly errors: FieldError[];
  /** Seconds to wait before trying again (`Retry-After` of a 429), when the server said. */
  readonly retryAfter: number | null;

  constructor(status: number, title: string, detail: string | null = null, errors: FieldError[] = [], retryAfter: number | null = null) {
    super(detail ?? title);
    this.name = "ApiError";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }

  /** The text to show: the first field error, else the detail, else the title. */
  get userMessage(): string {
    if (this.errors.length > 0) return this.errors.map((e) => e.message).join(" ");
    return this.detail ?? this.title;
  }
}

/** Builds an ApiError from a non-2xx response, reading a problem+json body when there is one. */
export async function problemFrom(res: Response): Promise<ApiError> {
  const wait = Number(res.headers.get("Retry-After") ?? "");
  const retryAfter = Number.isFinite(wait) && wait > 0 ? Math.ceil(wait) : null;
  let body: unknown = null;
  try {
    const text = await res.text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (body && typeof body === "object") {
    const p = body as { title?: unknown; detail?: unknown; errors?: unknown };
    const errors = Array.isArray(p.errors)
      ? p.errors
          .filter((e): e is FieldError => !!e && typeof e === "object" && typeof (e as FieldError).message === "string")
          .map((e) => ({ field: String(e.field ?? ""), message: e.message }))
      : [];
    return new ApiError(
      res.status,
      typeof p.title === "string" ? p.title : res.statusText || `HTTP ${res.status}`,
      typeof p.detail === "string" ? p.detail : null,
      errors,
      retryAfter,
    );
  }
  return new ApiError(res.status, res.statusText || `HTTP ${res.status}`, null, [], retryAfter);
}

/** A network failure (offline, connection refused, aborted) as an ApiError with status 0. */
export function networkError(cause: unknown): ApiError {
  const err = new ApiError(0, "Network error", "Could not reach the server. Check your connection and try again.");
  (err as { cause?: unknown }).cause = cause;
  return err;
}

export type TokenGetter = () => string | null;

/**
 * The header by which the web app says a request to `/api` is its own: history then records the
 * change as made "from the app" (source `ui`) rather than through the API. Its only allowed value is
 * `web`; anything else is a 400.
 */
export const CLIENT_HEADER = "X-Smart-Todo-Client";
export const CLIENT_NAME = "web";

/** Whether a request goes to the REST API (`…/api/…`, on this origin or `apiBase`'s). */
export function isApiUrl(input: RequestInfo | URL): boolean {
  const raw = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  let path: string;
  try {
    path = new URL(raw, "http://localhost").pathname;
  } catch {
    return false;
  }
  return /\/api(\/|$)/.test(path);
}

/**
 * A `fetch` that adds `Authorization: Bearer <token>` and keeps every other header. `init.headers` may be
 * a Headers object, an array or a record, so it is copied through `new Headers` (never spread).
 * Requests to `/api` also say they come from the web app ({@link CLIENT_HEADER}).
 * `onUnauthorized` runs on a 401 (expired or revoked token).
 */
export function bearerFetch(getToken: TokenGetter, onUnauthorized?: () => void): typeof fetch {
  return async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const token = getToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (isApiUrl(input)) headers.set(CLIENT_HEADER, CLIENT_NAME);
    const res = await globalThis.fetch(input, { ...init, headers });
    if (res.status === 401 && onUnauthorized) onUnauthorized();
    return res;
  };
}

/** Sends a JSON request with `fetchFn` and returns the parsed JSON body (undefined for 204). */
export async function requestJson<T>(
  fetchFn: typeof fetch,
  url: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers = new Headers({ Accept: "application/json" });
  if (init.body !== undefined) headers.set("Content-Type", "application/json");
  let res: Response;
  try {
    res = await fetchFn(url, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw networkError(e);
  }
  if (!res.ok) throw await problemFrom(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}
