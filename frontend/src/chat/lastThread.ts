/** The last open thread per user, so a reload (in either chat UI) resumes the conversation. */

const key = (user: string) => `smart-todo.last-thread.${user}`;

export function loadLastThread(user: string): string | null {
  try {
    return localStorage.getItem(key(user));
  } catch {
    return null;
  }
}

export function saveLastThread(user: string, threadId: string | null): void {
  try {
    if (threadId) localStorage.setItem(key(user), threadId);
    else localStorage.removeItem(key(user));
  } catch {
    // storage unavailable (private mode): resuming is a convenience
  }
}
