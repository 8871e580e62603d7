import { describe, expect, it } from "vitest";
import { readSettings } from "./config";
import { isCallback, sessionFromUser, userManagerSettings } from "./auth/oidc";
import { jwtSubject } from "./auth/session";
import { fakeToken } from "./test/fakeBackend";
import type { User } from "oidc-client-ts";

describe("settings", () => {
  it("default to same-origin APIs, the built-in chat and local sign-in", () => {
    const s = readSettings({}, "https://app.example.com");
    expect(s).toMatchObject({ apiBase: "", chatkitUrl: "/chatkit", chatkitDomainKey: null, chatkitLoadTimeoutMs: 4000, oidc: null });
  });

  it("turn on OpenID Connect with authority and client id, with Cognito-friendly defaults", () => {
    const s = readSettings(
      {
        VITE_OIDC_AUTHORITY: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
        VITE_OIDC_CLIENT_ID: "client123",
        VITE_OIDC_LOGOUT_URL: "https://smart-todo.auth.eu-west-1.amazoncognito.com/logout",
      },
      "https://app.example.com",
    );
    expect(s.oidc).toEqual({
      authority: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
      clientId: "client123",
      redirectUri: "https://app.example.com/auth/callback",
      postLogoutRedirectUri: "https://app.example.com/",
      scope: "openid email profile",
      logoutUrl: "https://smart-todo.auth.eu-west-1.amazoncognito.com/logout",
      apiToken: "access",
    });
  });
});

describe("OpenID Connect", () => {
  const o = readSettings({ VITE_OIDC_AUTHORITY: "https://idp.example.com", VITE_OIDC_CLIENT_ID: "c", VITE_OIDC_API_TOKEN: "id" }, "https://app.example.com").oidc!;

  it("uses the authorization code flow (PKCE) and keeps state in sessionStorage", () => {
    const cfg = userManagerSettings(o);
    expect(cfg).toMatchObject({ response_type: "code", client_id: "c", redirect_uri: "https://app.example.com/auth/callback" });
    expect(cfg.disablePKCE).toBeFalsy();
    expect(cfg.userStore).toBeDefined();
  });

  it("recognises the callback only on the redirect path with code and state", () => {
    const loc = (href: string) => new URL(href) as unknown as Location;
    expect(isCallback(o, loc("https://app.example.com/auth/callback?code=x&state=y"))).toBe(true);
    expect(isCallback(o, loc("https://app.example.com/auth/callback?error=access_denied&state=y"))).toBe(true);
    expect(isCallback(o, loc("https://app.example.com/?code=x&state=y"))).toBe(false);
    expect(isCallback(o, loc("https://app.example.com/auth/callback"))).toBe(false);
  });

  it("sends the configured token and names the user by email", () => {
    const user = {
      access_token: "acc",
      id_token: "idt",
      expired: false,
      expires_at: 2_000_000_000,
      profile: { sub: "u-1", email: "a@example.com" },
    } as unknown as User;
    expect(sessionFromUser(user, o)).toEqual({ token: "idt", userId: "u-1", displayName: "a@example.com", expiresAt: 2_000_000_000_000, source: "oidc" });
    expect(sessionFromUser(user, { ...o, apiToken: "access" })?.token).toBe("acc");
    expect(sessionFromUser({ ...user, expired: true } as unknown as User, o)).toBeNull();
  });
});

describe("jwtSubject", () => {
  it("reads sub from a JWT and tolerates junk", () => {
    expect(jwtSubject(fakeToken("alice"))).toBe("alice");
    expect(jwtSubject("not a token")).toBeNull();
    expect(jwtSubject("a.%%%.c")).toBeNull();
  });
});
