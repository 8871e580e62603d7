/** Sign-in state for the app: local `/dev/token` sign-in, or OpenID Connect when configured. */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { UserManager } from "oidc-client-ts";
import type { Settings } from "../config";
import { clearDevSession, devSignIn, loadDevSession, saveDevSession, type Session } from "./session";
import { createUserManager, oidcSignOut, restoreOidc, sessionFromUser } from "./oidc";

export type Auth = {
  status: "loading" | "signed-out" | "signed-in";
  session: Session | null;
  /** Why the user is on the sign-in screen (expired session, failed callback), if not by choice. */
  message: string | null;
  mode: "dev" | "oidc";
  signInDev: (user: string) => Promise<void>;
  signInOidc: () => Promise<void>;
  signOut: () => Promise<void>;
  /** The current token, read at call time (after a silent renewal it is the new one). */
  getToken: () => string | null;
  /** The server said 401: the session is over. */
  expire: () => void;
};

export function useAuth(settings: Settings): Auth {
  const oidc = settings.oidc;
  const mgr = useMemo<UserManager | null>(() => (oidc ? createUserManager(oidc) : null), [oidc]);
  const [session, setSession] = useState<Session | null>(() => (oidc ? null : loadDevSession()));
  const [status, setStatus] = useState<Auth["status"]>(oidc ? "loading" : session ? "signed-in" : "signed-out");
  const [message, setMessage] = useState<string | null>(null);
  const sessionRef = useRef(session);
  sessionRef.current = session;

  const apply = useCallback((s: Session | null, why: string | null = null) => {
    sessionRef.current = s;
    setSession(s);
    setStatus(s ? "signed-in" : "signed-out");
    setMessage(why);
  }, []);

  useEffect(() => {
    if (!mgr || !oidc) return;
    let active = true;
    restoreOidc(mgr, oidc)
      .then((s) => active && apply(s))
      .catch((e: unknown) => active && apply(null, `Sign-in failed: ${e instanceof Error ? e.message : "unknown error"}`));
    const onLoaded = (user: Parameters<Parameters<typeof mgr.events.addUserLoaded>[0]>[0]) => apply(sessionFromUser(user, oidc));
    const onEnded = () => apply(null, "Your session ended. Please sign in again.");
    mgr.events.addUserLoaded(onLoaded);
    mgr.events.addAccessTokenExpired(onEnded);
    mgr.events.addSilentRenewError(onEnded);
    return () => {
      active = false;
      mgr.events.removeUserLoaded(onLoaded);
      mgr.events.removeAccessTokenExpired(onEnded);
      mgr.events.removeSilentRenewError(onEnded);
    };
  }, [mgr, oidc, apply]);

  const signInDev = useCallback(
    async (user: string) => {
      const s = await devSignIn(settings.apiBase, user);
      saveDevSession(s);
      apply(s);
    },
    [settings.apiBase, apply],
  );

  const signInOidc = useCallback(async () => {
    if (mgr) await mgr.signinRedirect();
  }, [mgr]);

  const signOut = useCallback(async () => {
    clearDevSession();
    apply(null);
    if (mgr && oidc) await oidcSignOut(mgr, oidc);
  }, [mgr, oidc, apply]);

  const getToken = useCallback(() => sessionRef.current?.token ?? null, []);

  const expire = useCallback(() => {
    if (!sessionRef.current) return;
    clearDevSession();
    if (mgr) void mgr.removeUser();
    apply(null, "Your session expired. Please sign in again.");
  }, [mgr, apply]);

  return { status, session, message, mode: oidc ? "oidc" : "dev", signInDev, signInOidc, signOut, getToken, expire };
}
