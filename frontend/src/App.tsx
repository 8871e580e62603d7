/** The app shell: sign-in, then the chat beside the task panel (tabs on a phone). */
import { useCallback, useEffect, useMemo, useState } from "react";
import type { Settings } from "./config";
import { useAuth } from "./auth/useAuth";
import { SignIn } from "./auth/SignIn";
import type { Session } from "./auth/session";
import { bearerFetch, type TokenGetter } from "./api/http";
import { TasksApi } from "./api/tasks";
import { MeApi, browserTimeZone, syncTimeZone } from "./api/me";
import { ChatKitClient } from "./api/chatkit";
import { ChatPane } from "./chat/ChatPane";
import { TaskPanel } from "./tasks/TaskPanel";
import { ChatIcon, ListIcon, LogoMark } from "./ui/icons";
import { useColorScheme } from "./ui/useColorScheme";

export function App({ settings }: { settings: Settings }) {
  const auth = useAuth(settings);

  if (auth.status === "loading") {
    return (
      <main className="signin" aria-busy="true">
        <p className="muted">Signing in…</p>
      </main>
    );
  }
  if (!auth.session) {
    return <SignIn mode={auth.mode} message={auth.message} onDevSignIn={auth.signInDev} onOidcSignIn={auth.signInOidc} />;
  }
  return (
    <Workspace
      key={auth.session.userId}
      settings={settings}
      session={auth.session}
      getToken={auth.getToken}
      onUnauthorized={auth.expire}
      onSignOut={auth.signOut}
    />
  );
}

type WorkspaceProps = {
  settings: Settings;
  session: Session;
  getToken: TokenGetter;
  onUnauthorized: () => void;
  onSignOut: () => Promise<void>;
};

function Workspace({ settings, session, getToken, onUnauthorized, onSignOut }: WorkspaceProps) {
  const fetchFn = useMemo(() => bearerFetch(getToken, onUnauthorized), [getToken, onUnauthorized]);
  const tasksApi = useMemo(() => new TasksApi(fetchFn, settings.apiBase), [fetchFn, settings.apiBase]);
  const chatClient = useMemo(() => new ChatKitClient(fetchFn, settings.chatkitUrl), [fetchFn, settings.chatkitUrl]);
  const [tasksVersion, setTasksVersion] = useState(0);
  const [view, setView] = useState<"chat" | "tasks">("chat");
  const colorScheme = useColorScheme();
  const tasksChanged = useCallback(() => setTasksVersion((v) => v + 1), []);

  // Once per sign-in: date words ("today", "friday") are read in the browser's zone. A failure here
  // changes nothing the user sees (the stored zone stays; a 401 ends the session as anywhere else).
  useEffect(() => {
    const abort = new AbortController();
    syncTimeZone(new MeApi(fetchFn, settings.apiBase), browserTimeZone(), abort.signal).catch(() => {});
    return () => abort.abort();
  }, [fetchFn, settings.apiBase]);

  return (
    <div className="app" data-view={view}>
      <a className="skip-link" href="#tasks-pane">
        Skip to tasks
      </a>
      <header className="topbar">
        <div className="brand">
          <LogoMark />
          <span>Smart Todo</span>
        </div>
        <div className="account">
          <span className="avatar" aria-hidden="true">
            {session.displayName.slice(0, 1).toUpperCase()}
          </span>
          <span className="account-name" title={session.displayName}>
            <span className="visually-hidden">Signed in as </span>
            {session.displayName}
          </span>
          <button type="button" className="btn btn-small" onClick={() => void onSignOut()}>
            Sign out
          </button>
        </div>
      </header>

      {/* Shown on narrow screens only, where the chat and the task panel take turns. */}
      <div className="view-tabs" role="group" aria-label="View">
        <button type="button" aria-pressed={view === "chat"} aria-controls="chat-pane" onClick={() => setView("chat")}>
          <ChatIcon /> Chat
        </button>
        <button type="button" aria-pressed={view === "tasks"} aria-controls="tasks-pane" onClick={() => setView("tasks")}>
          <ListIcon /> Tasks
        </button>
      </div>

      <main className="workspace">
        <section id="chat-pane" className="pane chat-pane" aria-label="Chat">
          <ChatPane
            settings={settings}
            client={chatClient}
            user={session.userId}
            getToken={getToken}
            onTasksChanged={tasksChanged}
            onUnauthorized={onUnauthorized}
            colorScheme={colorScheme}
          />
        </section>
        <aside id="tasks-pane" className="pane tasks-pane" aria-label="Tasks" tabIndex={-1}>
          <TaskPanel api={tasksApi} refreshKey={tasksVersion} />
        </aside>
      </main>
    </div>
  );
}
