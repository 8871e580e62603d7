/** Client of the signed-in user's settings (`/api/me`). */
import { requestJson } from "./http";

export type Profile = { user_id: string; timezone: string };

export class MeApi {
  private readonly fetchFn: typeof fetch;
  private readonly url: string;

  constructor(fetchFn: typeof fetch, apiBase = "") {
    this.fetchFn = fetchFn;
    this.url = `${apiBase}/api/me`;
  }

  get(signal?: AbortSignal) {
    return requestJson<Profile>(this.fetchFn, this.url, { signal });
  }

  setTimezone(timezone: string) {
    return requestJson<Profile>(this.fetchFn, this.url, { method: "PATCH", body: { timezone } });
  }
}

/** The browser's IANA time zone, or null when it does not say. */
export function browserTimeZone(): string | null {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    return null;
  }
}

/**
 * After sign-in: tells the server the browser's time zone when it differs from the stored one, so
 * "today" and "friday" mean the user's day. Answers the profile as it ends up; a zone the server does
 * not know (an old or unusual browser) keeps the stored one.
 */
export async function syncTimeZone(api: MeApi, zone: string | null, signal?: AbortSignal): Promise<Profile> {
  const profile = await api.get(signal);
  if (!zone || zone === profile.timezone || signal?.aborted) return profile;
  try {
    return await api.setTimezone(zone);
  } catch (err) {
    if ((err as { status?: number }).status === 422) return profile;
    throw err;
  }
}
