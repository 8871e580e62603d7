//! The one-port app of `smart-todo serve`: every function's router (the REST API, `/mcp`, chat),
//! `POST /dev/token` (only under `--dev`), and the built frontend, behind a `Host` allow-list. A
//! library so tests can drive exactly what `serve` runs.

pub mod server;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use smart_todo_chat::ChatState;
use smart_todo_chat::agent::Model;
use smart_todo_mcp::McpSettings;
use smart_todo_shared::auth::mint_hs256;
use smart_todo_shared::config::AuthConfig;
use smart_todo_shared::domain::UserId;
use smart_todo_shared::http::{JsonBody, method_not_allowed, not_found, with_layers};
use smart_todo_shared::{ApiError, AppState};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// Lifetime of tokens handed out by `POST /dev/token`.
pub const DEV_TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

/// Path prefixes that belong to the APIs: unknown paths under them are JSON 404s, never the SPA.
const API_PREFIXES: [&str; 4] = ["/api/", "/mcp", "/chatkit", "/dev/"];

/// Host names `serve` answers when `ALLOWED_HOSTS` is unset: loopback only.
pub const DEFAULT_ALLOWED_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The `Host` values `serve` answers (`ALLOWED_HOSTS`: comma-separated names, `name:port`, or `*`
/// for any). A page on another origin that resolves its name to this machine (DNS rebinding)
/// sends its own name and is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// Parses an `ALLOWED_HOSTS` value; unset or blank means loopback names.
    pub fn parse(value: Option<&str>) -> Self {
        let hosts: Vec<String> = value
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        if hosts.is_empty() {
            Self(DEFAULT_ALLOWED_HOSTS.map(str::to_owned).to_vec())
        } else if hosts.iter().any(|h| h == "*") {
            Self(vec![])
        } else {
            Self(hosts)
        }
    }

    /// Whether a `Host` header value is allowed: its name (or `name:port`) is listed.
    pub fn allows(&self, host: &str) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let host = host.trim().to_ascii_lowercase();
        let name = match host.strip_prefix('[') {
            // [::1]:8080
            Some(rest) => rest.split(']').next().unwrap_or_default().to_owned(),
            None => match host.rsplit_once(':') {
                Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_owned(),
                _ => host.clone(),
            },
        };
        self.0
            .iter()
            .any(|allowed| *allowed == name || *allowed == host)
    }
}

/// Whether `POST /dev/token` exists, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevSignIn {
    Enabled(String),
    Disabled(&'static str),
}

impl DevSignIn {
    /// Local sign-in mints a token for any name, so it exists only when asked for (`--dev`), only
    /// on a loopback address, only with the shared secret, and never beside a real issuer.
    pub fn decide(dev: bool, host: &str, auth: &AuthConfig) -> Self {
        if !dev {
            return Self::Disabled("not enabled (start with --dev for local sign-in)");
        }
        let loopback = host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Self::Disabled("refused: --dev only works on a loopback address (HOST)");
        }
        if auth.jwks_url.is_some() || auth.issuer.is_some() {
            return Self::Disabled("refused: an issuer or JWKS is configured");
        }
        match &auth.jwt_secret {
            Some(secret) => {
                use secrecy::ExposeSecret;
                Self::Enabled(secret.expose_secret().to_owned())
            }
            None => Self::Disabled("refused: needs AUTH_JWT_SECRET"),
        }
    }
}

/// What `serve` mounts besides the function routers.
pub struct ServeOptions<'a> {
    pub mcp: &'a McpSettings,
    pub auth: &'a AuthConfig,
    pub dev_sign_in: DevSignIn,
    pub allowed_hosts: AllowedHosts,
    pub frontend_dir: Option<&'a Path>,
}

/// 403 problem+json for a request whose `Host` is not allowed (or missing).
async fn check_host(
    State(hosts): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    match host {
        Some(host) if hosts.allows(&host) => next.run(request).await,
        _ => ApiError::Forbidden(
            "this server does not answer for that Host; add it to ALLOWED_HOSTS".into(),
        )
        .into_response(),
    }
}

/// Builds the whole local app.
pub fn app(state: AppState, model: Arc<Model>, options: ServeOptions<'_>) -> Router {
    let ServeOptions {
        mcp,
        auth,
        dev_sign_in,
        allowed_hosts,
        frontend_dir,
    } = options;
    let dev_token_secret = match dev_sign_in {
        DevSignIn::Enabled(secret) => Some(secret),
        DevSignIn::Disabled(_) => None,
    };
    let mut api = smart_todo_tasks::router(state.clone())
        .merge(smart_todo_mcp::router(state.clone(), mcp))
        .merge(smart_todo_chat::router(ChatState::new(state, model)));
    if let Some(secret) = dev_token_secret {
        let dev = DevTokens {
            auth: auth.clone(),
            secret: SecretString::from(secret),
        };
        api = api.merge(
            Router::new()
                .route("/dev/token", post(dev_token))
                .with_state(dev),
        );
    }
    let api = api.method_not_allowed_fallback(method_not_allowed);
    let app = match frontend_dir {
        Some(dir) => {
            let spa = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
            api.fallback(move |request: Request| async move {
                if API_PREFIXES
                    .iter()
                    .any(|prefix| request.uri().path().starts_with(prefix))
                {
                    return not_found().await.into_response();
                }
                spa.oneshot(request).await.into_response()
            })
        }
        None => api.fallback(not_found),
    };
    let app = app.layer(middleware::from_fn_with_state(
        Arc::new(allowed_hosts),
        check_host,
    ));
    with_layers(app)
}

#[derive(Clone)]
struct DevTokens {
    auth: AuthConfig,
    secret: SecretString,
}

/// Body of `POST /dev/token`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevTokenRequest {
    user: String,
}

#[derive(Debug, Serialize)]
struct DevTokenResponse {
    token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// Local sign-in: a token for any user name. Exists only in `serve`, never in a Lambda.
async fn dev_token(
    State(dev): State<DevTokens>,
    JsonBody(body): JsonBody<DevTokenRequest>,
) -> Result<Response, ApiError> {
    let user = UserId::parse(body.user.trim()).map_err(|e| ApiError::invalid("user", e.0))?;
    let token =
        mint_hs256(&dev.auth, &dev.secret, &user, DEV_TOKEN_TTL).map_err(ApiError::Internal)?;
    Ok(Json(DevTokenResponse {
        token,
        token_type: "Bearer",
        expires_in: DEV_TOKEN_TTL.as_secs(),
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(secret: bool, jwks: bool) -> AuthConfig {
        AuthConfig {
            jwt_secret: secret.then(|| SecretString::from("s".repeat(32))),
            jwks_url: jwks.then(|| "https://issuer.example/jwks".into()),
            issuer: None,
            audience: None,
            client_ids: vec![],
        }
    }

    #[test]
    fn dev_sign_in_needs_dev_a_loopback_address_a_secret_and_no_issuer() {
        let enabled = |d: &DevSignIn| matches!(d, DevSignIn::Enabled(_));
        assert!(enabled(&DevSignIn::decide(
            true,
            "127.0.0.1",
            &auth(true, false)
        )));
        assert!(enabled(&DevSignIn::decide(
            true,
            "localhost",
            &auth(true, false)
        )));
        assert!(enabled(&DevSignIn::decide(true, "::1", &auth(true, false))));
        for (dev, host, auth, why) in [
            (false, "127.0.0.1", auth(true, false), "without --dev"),
            (true, "0.0.0.0", auth(true, false), "on every interface"),
            (true, "192.168.1.5", auth(true, false), "on a LAN address"),
            (true, "127.0.0.1", auth(true, true), "beside a JWKS"),
            (
                true,
                "127.0.0.1",
                auth(false, true),
                "without the shared secret",
            ),
        ] {
            assert!(!enabled(&DevSignIn::decide(dev, host, &auth)), "{why}");
        }
    }

    #[test]
    fn the_host_allow_list_defaults_to_loopback_names_with_any_port() {
        let hosts = AllowedHosts::parse(None);
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:5173",
            "[::1]:8080",
            "LOCALHOST",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "",
        ] {
            assert!(!hosts.allows(bad), "{bad}");
        }
    }

    #[test]
    fn the_host_allow_list_is_configurable_and_a_star_allows_any() {
        let hosts = AllowedHosts::parse(Some("todo.example.com, box.lan:8080"));
        assert!(hosts.allows("todo.example.com"));
        assert!(hosts.allows("todo.example.com:443"));
        assert!(hosts.allows("box.lan:8080"));
        assert!(!hosts.allows("box.lan:9090"));
        assert!(!hosts.allows("localhost"));
        assert!(AllowedHosts::parse(Some("*")).allows("anything.example"));
    }
}
