/**
 * Picks the chat UI. ChatKit when a domain key is configured and its script defines `<openai-chatkit>`
 * within the timeout; otherwise (no key, offline, CDN blocked or down) the built-in UI. Both talk to the
 * same `/chatkit` endpoint, so threads carry over between them.
 */
import { useEffect, useState } from "react";
import type { Settings } from "../config";
import type { ChatKitClient } from "../api/chatkit";
import type { TokenGetter } from "../api/http";
import { BuiltinChat } from "./BuiltinChat";
import { ChatKitChat } from "./ChatKitChat";
import { injectChatKitScript, waitForChatKit } from "./chatkitLoader";

export const FALLBACK_NOTICE = "ChatKit could not be loaded, so the built-in chat is shown instead.";

type Props = {
  settings: Settings;
  client: ChatKitClient;
  user: string;
  getToken: TokenGetter;
  onTasksChanged: () => void;
  onUnauthorized: () => void;
  colorScheme: "light" | "dark";
};

export function ChatPane({ settings, client, user, getToken, onTasksChanged, onUnauthorized, colorScheme }: Props) {
  const domainKey = settings.chatkitDomainKey;
  const [mode, setMode] = useState<"loading" | "chatkit" | "builtin">(domainKey ? "loading" : "builtin");
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    if (!domainKey) return;
    let active = true;
    const loaded = injectChatKitScript(settings.chatkitScriptUrl);
    void waitForChatKit(settings.chatkitLoadTimeoutMs, loaded).then((ok) => {
      if (!active) return;
      setMode(ok ? "chatkit" : "builtin");
      if (!ok) setNotice(FALLBACK_NOTICE);
    });
    return () => {
      active = false;
    };
  }, [domainKey, settings.chatkitScriptUrl, settings.chatkitLoadTimeoutMs]);

  if (mode === "builtin" || !domainKey) {
    return <BuiltinChat client={client} user={user} onTasksChanged={onTasksChanged} notice={notice} />;
  }
  return (
    <div className="chatkit-host" data-chat-ui="chatkit" aria-busy={mode === "loading"}>
      {mode === "loading" && <p className="muted center chatkit-loading">Loading ChatKit…</p>}
      <ChatKitChat
        user={user}
        url={settings.chatkitUrl}
        domainKey={domainKey}
        getToken={getToken}
        onTasksChanged={onTasksChanged}
        onUnauthorized={onUnauthorized}
        colorScheme={colorScheme}
      />
    </div>
  );
}
