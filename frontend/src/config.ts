/** Build-time settings (Vite `VITE_*` variables), read once. Nothing here is a secret: it ships to browsers. */

export type OidcSettings = {
  authority: string;
  clientId: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  scope: string;
  /** Cognito's Hosted UI has no `end_session_endpoint`: its `/logout` URL is configured here. */
  logoutUrl: string | null;
  /** Which token the APIs receive: the access token (default) or the ID token. */
  apiToken: "access" | "id";
};

export type Settings = {
  /** Prefix for `/api/...` and `/dev/token`; empty = same origin (CloudFront and `smart-todo serve`). */
  apiBase: string;
  /** The ChatKit protocol endpoint, used by both chat UIs. */
  chatkitUrl: string;
  /** ChatKit's domain key; without it the built-in chat UI is used. */
  chatkitDomainKey: string | null;
  chatkitScriptUrl: string;
  /** How long to wait for `<openai-chatkit>` to be defined before falling back to the built-in UI. */
  chatkitLoadTimeoutMs: number;
  oidc: OidcSettings | null;
};

export const CHATKIT_SCRIPT_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js";
export const DEFAULT_CHATKIT_TIMEOUT_MS = 4000;

type Env = Record<string, string | boolean | undefined>;

function str(env: Env, key: string): string | null {
  const v = env[key];
  if (typeof v !== "string") return null;
  const t = v.trim();
  return t === "" ? null : t;
}

/** Reads the settings from `import.meta.env` (or a given env, for tests). */
export function readSettings(env: Env = import.meta.env, origin: string = window.location.origin): Settings {
  const apiBase = (str(env, "VITE_API_BASE_URL") ?? "").replace(/\/+$/, "");
  const authority = str(env, "VITE_OIDC_AUTHORITY");
  const clientId = str(env, "VITE_OIDC_CLIENT_ID");
  const timeout = Number(str(env, "VITE_CHATKIT_LOAD_TIMEOUT_MS") ?? DEFAULT_CHATKIT_TIMEOUT_MS);
  return {
    apiBase,
    chatkitUrl: str(env, "VITE_CHATKIT_URL") ?? `${apiBase}/chatkit`,
    chatkitDomainKey: str(env, "VITE_CHATKIT_DOMAIN_KEY"),
    chatkitScriptUrl: str(env, "VITE_CHATKIT_SCRIPT_URL") ?? CHATKIT_SCRIPT_URL,
    chatkitLoadTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_CHATKIT_TIMEOUT_MS,
    oidc:
      authority && clientId
        ? {
            authority,
            clientId,
            redirectUri: str(env, "VITE_OIDC_REDIRECT_URI") ?? `${origin}/auth/callback`,
            postLogoutRedirectUri: str(env, "VITE_OIDC_POST_LOGOUT_REDIRECT_URI") ?? `${origin}/`,
            scope: str(env, "VITE_OIDC_SCOPE") ?? "openid email profile",
            logoutUrl: str(env, "VITE_OIDC_LOGOUT_URL"),
            apiToken: str(env, "VITE_OIDC_API_TOKEN") === "id" ? "id" : "access",
          }
        : null,
  };
}
