/**
 * The signed-in session. The token lives in memory and, so a reload keeps the user signed in, in this
 * tab's sessionStorage (never localStorage, never a URL, never a log line).
 */
import { requestJson } from "../api/http";

export type Session = {
  token: string;
  /** Stable user id (the token's `sub`): keys per-user browser state such as the last thread. */
  userId: string;
  /** Name to show. */
  displayName: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  source: "dev" | "oidc";
};

const KEY = "smart-todo.session";
/** A token this close to expiry is treated as expired. */
const SKEW_MS = 30_000;

/** The `sub` claim of a JWT, read without verification (the server verifies; this is only for display). */
export function jwtSubject(token: string): string | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const bin = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const json = new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json) as { sub?: unknown };
    return typeof claims.sub === "string" ? claims.sub : null;
  } catch {
    return null;
  }
}

export function isExpired(s: Session, now = Date.now()): boolean {
  return s.expiresAt - SKEW_MS <= now;
}

export function loadDevSession(now = Date.now()): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (typeof s.token !== "string" || typeof s.userId !== "string" || isExpired(s, now)) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

export function saveDevSession(s: Session): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(s));
  } catch {
    // storage unavailable: the session lasts until reload
  }
}

export function clearDevSession(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}

type DevTokenResponse = { token: string; token_type: string; expires_in: number };

/** Local sign-in (`smart-todo serve` only): `POST /dev/token {"user"}`. */
export async function devSignIn(apiBase: string, user: string, fetchFn: typeof fetch = (...a) => globalThis.fetch(...a)): Promise<Session> {
  const name = user.trim();
  const res = await requestJson<DevTokenResponse>(fetchFn, `${apiBase}/dev/token`, {
    method: "POST",
    body: { user: name },
  });
  return {
    token: res.token,
    userId: jwtSubject(res.token) ?? name,
    displayName: name,
    expiresAt: Date.now() + res.expires_in * 1000,
    source: "dev",
  };
}
