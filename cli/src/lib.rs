//! The one-port app of `smart-todo serve`: every function's router (the REST API, `/mcp`, chat),
//! `POST /dev/token`, and the built frontend. A library so tests can drive exactly what `serve` runs.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
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

/// Builds the whole local app. `dev_token_secret` enables `POST /dev/token` (HS256 mode only).
pub fn app(
    state: AppState,
    model: Arc<Model>,
    mcp: &McpSettings,
    auth: &AuthConfig,
    dev_token_secret: Option<String>,
    frontend_dir: Option<&Path>,
) -> Router {
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
