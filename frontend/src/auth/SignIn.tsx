/** The sign-in screen: a user name locally (`POST /dev/token`), or the identity provider when deployed. */
import { useId, useState, type FormEvent } from "react";
import { ApiError } from "../api/http";
import { LogoMark } from "../ui/icons";

type Props = {
  mode: "dev" | "oidc";
  message: string | null;
  onDevSignIn: (user: string) => Promise<void>;
  onOidcSignIn: () => Promise<void>;
};

export function SignIn({ mode, message, onDevSignIn, onOidcSignIn }: Props) {
  const [user, setUser] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "oidc") await onOidcSignIn();
      else await onDevSignIn(user);
    } catch (err) {
      setError(err instanceof ApiError ? err.userMessage : "Sign-in failed. Is the server running?");
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form className="signin-card" onSubmit={submit} aria-labelledby={`${id}-h`}>
        <div className="signin-brand">
          <LogoMark />
          <span>Smart Todo</span>
        </div>
        <h1 id={`${id}-h`}>Sign in</h1>
        <p className="muted">Manage your todo list by talking to an assistant.</p>
        {message && (
          <p className="notice" role="status">
            {message}
          </p>
        )}
        {mode === "dev" ? (
          <>
            <label htmlFor={`${id}-user`}>User name</label>
            <input
              id={`${id}-user`}
              name="user"
              autoComplete="username"
              autoFocus
              required
              maxLength={128}
              value={user}
              onChange={(e) => setUser(e.target.value)}
              aria-describedby={`${id}-hint${error ? ` ${id}-err` : ""}`}
              aria-invalid={error ? true : undefined}
            />
            <p id={`${id}-hint`} className="hint">
              Local development sign-in: every name gets its own task list and conversations.
            </p>
          </>
        ) : null}
        {error && (
          <p id={`${id}-err`} className="inline-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy || (mode === "dev" && !user.trim())} autoFocus={mode === "oidc"}>
          {busy ? "Signing in…" : mode === "oidc" ? "Continue to sign-in" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
