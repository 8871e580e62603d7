/** The options our ChatKit instance gets: our `/chatkit` backend, bearer auth, history, task refreshes. */
import type { UseChatKitOptions } from "@openai/chatkit-react";
import type { TokenGetter } from "../api/http";
import { SUGGESTIONS } from "./suggestions";

export type ChatKitWiring = {
  url: string;
  domainKey: string;
  getToken: TokenGetter;
  /** Thread to open first (the last one of this user), or null for a new thread. */
  initialThread: string | null;
  onThreadChange: (threadId: string | null) => void;
  onTasksChanged: () => void;
  onUnauthorized?: () => void;
  colorScheme: "light" | "dark";
};

/** The fetch ChatKit uses for every request: adds the bearer token and keeps ChatKit's own headers. */
export function chatKitFetch(getToken: TokenGetter, onUnauthorized?: () => void): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers); // may be a Headers object: never spread it
    const token = getToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    const res = await globalThis.fetch(input, { ...init, headers });
    if (res.status === 401) onUnauthorized?.();
    return res;
  };
}

export function buildChatKitOptions(w: ChatKitWiring): UseChatKitOptions {
  return {
    api: {
      url: w.url,
      domainKey: w.domainKey,
      fetch: chatKitFetch(w.getToken, w.onUnauthorized),
    },
    theme: { colorScheme: w.colorScheme, radius: "round", density: "normal" },
    initialThread: w.initialThread,
    history: { enabled: true, showDelete: true, showRename: true },
    threadItemActions: { retry: true },
    startScreen: {
      greeting: "What needs doing?",
      prompts: SUGGESTIONS.map((s) => ({ label: s, prompt: s })),
    },
    composer: { placeholder: "Ask me to add or change tasks…" },
    onThreadChange: ({ threadId }) => w.onThreadChange(threadId),
    onEffect: ({ name }) => {
      if (name === "tasks_changed") w.onTasksChanged();
    },
    // A finished turn may have changed tasks even without an effect (e.g. a retried turn).
    onResponseEnd: () => w.onTasksChanged(),
    onError: ({ error }) => {
      console.error("ChatKit error:", error?.message ?? "unknown error");
    },
  };
}
