/**
 * Deployed sign-in: OpenID Connect authorization code flow with PKCE (oidc-client-ts), e.g. the Cognito
 * Hosted UI. The library keeps the user in this tab's sessionStorage; the code and state in the callback
 * URL are removed from the address bar as soon as they are exchanged.
 */
import { UserManager, WebStorageStateStore, type User, type UserManagerSettings } from "oidc-client-ts";
import type { OidcSettings } from "../config";
import type { Session } from "./session";

export function userManagerSettings(o: OidcSettings): UserManagerSettings {
  return {
    authority: o.authority,
    client_id: o.clientId,
    redirect_uri: o.redirectUri,
    post_logout_redirect_uri: o.postLogoutRedirectUri,
    response_type: "code", // PKCE is on for the code flow (oidc-client-ts default)
    scope: o.scope,
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
    automaticSilentRenew: true, // refresh token grant before expiry
    loadUserInfo: false,
  };
}

export function createUserManager(o: OidcSettings): UserManager {
  return new UserManager(userManagerSettings(o));
}

/** True when this page load is the identity provider redirecting back to us. */
export function isCallback(o: OidcSettings, loc: Location = window.location): boolean {
  const cb = new URL(o.redirectUri, loc.origin);
  const params = new URLSearchParams(loc.search);
  return loc.pathname === cb.pathname && (params.has("code") || params.has("error")) && params.has("state");
}

export function sessionFromUser(user: User, o: OidcSettings): Session | null {
  const token = o.apiToken === "id" ? user.id_token : user.access_token;
  if (!token || user.expired) return null;
  const p = user.profile;
  const name = (p.email as string | undefined) ?? (p.preferred_username as string | undefined) ?? (p.name as string | undefined) ?? p.sub;
  return {
    token,
    userId: p.sub,
    displayName: name,
    expiresAt: (user.expires_at ?? Math.floor(Date.now() / 1000) + 300) * 1000,
    source: "oidc",
  };
}

/** Finishes a redirect sign-in if this is the callback, else restores a stored user. */
export async function restoreOidc(mgr: UserManager, o: OidcSettings): Promise<Session | null> {
  if (isCallback(o)) {
    try {
      const user = await mgr.signinRedirectCallback();
      return sessionFromUser(user, o);
    } finally {
      // Never leave the authorization code in the address bar or the history.
      window.history.replaceState(null, "", "/");
    }
  }
  const user = await mgr.getUser();
  return user ? sessionFromUser(user, o) : null;
}

/** Signs out locally, then at the identity provider (Cognito needs its own /logout URL). */
export async function oidcSignOut(mgr: UserManager, o: OidcSettings): Promise<void> {
  if (o.logoutUrl) {
    await mgr.removeUser();
    const url = new URL(o.logoutUrl);
    url.searchParams.set("client_id", o.clientId);
    url.searchParams.set("logout_uri", o.postLogoutRedirectUri);
    window.location.assign(url.toString());
    return;
  }
  try {
    await mgr.signoutRedirect();
  } catch {
    // no end_session_endpoint: a local sign-out is all there is
    await mgr.removeUser();
  }
}
