//! The `chat` Lambda: chat turns as JSON (`/api/chat`) and over the ChatKit protocol (`/chatkit`),
//! streamed as server-sent events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router, middleware};
use serde::Deserialize;
use smart_todo_shared::domain::{ChatText, ConversationId, IdempotencyKey};
use smart_todo_shared::http::{JsonBody, MAX_BODY_BYTES, require_path_user};
use smart_todo_shared::{ApiError, AppState, AuthUser, Authenticator};
use tokio::sync::mpsc;

pub mod agent;
pub mod chatkit;
pub mod runtime_api;

use agent::Model;
use agent::turn::{self, Start, TurnRequest};

/// How often a quiet event stream gets a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What the chat handlers share: the app state and the model back-end, built once.
#[derive(Clone)]
pub struct ChatState {
    pub app: AppState,
    pub model: Arc<Model>,
    /// Silence after which a stream sends a keep-alive comment ([`KEEP_ALIVE`]).
    pub keep_alive: Duration,
}

impl ChatState {
    pub fn new(app: AppState, model: Arc<Model>) -> Self {
        Self {
            app,
            model,
            keep_alive: KEEP_ALIVE,
        }
    }
}

impl FromRef<ChatState> for Arc<Authenticator> {
    fn from_ref(state: &ChatState) -> Self {
        state.app.auth.clone()
    }
}

/// The chat routes.
pub fn router(state: ChatState) -> Router {
    let phase2 =
        Router::new()
            .route("/chat", post(chat))
            .route_layer(middleware::from_fn_with_state(
                state.clone(),
                require_path_user,
            ));
    Router::new()
        .route("/api/chat", post(chat))
        .nest("/api/{user_id}", phase2)
        .route("/chatkit", post(chatkit::handle))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Time kept back from the Lambda deadline to store what was done and answer.
const DEADLINE_MARGIN: Duration = Duration::from_secs(3);

/// When this invocation must be finished by: the Lambda deadline less a margin, or none outside
/// Lambda (the model's own timeout still applies).
pub struct Deadline(pub Option<Instant>);

impl<S: Send + Sync> FromRequestParts<S> for Deadline {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(context) = parts.extensions.get::<lambda_runtime::Context>() else {
            return Ok(Self(None));
        };
        let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let left = Duration::from_millis(context.deadline.saturating_sub(now_ms));
        Ok(Self(Some(
            Instant::now() + left.saturating_sub(DEADLINE_MARGIN),
        )))
    }
}

/// Body of `POST /api/chat`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// Continue this conversation; a new one is started when absent.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// 1–4,000 characters.
    pub message: String,
}

/// The `Idempotency-Key` header, when sent: 1–128 visible ASCII characters, at most one.
pub struct IdempotencyKeyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all("idempotency-key").iter();
        let Some(value) = values.next() else {
            return Ok(Self(None));
        };
        if values.next().is_some() {
            return Err(ApiError::BadRequest(
                "send at most one Idempotency-Key header".into(),
            ));
        }
        let raw = value.to_str().unwrap_or("\u{0}");
        IdempotencyKey::parse(raw)
            .map(|key| Self(Some(key)))
            .map_err(|e| ApiError::invalid("Idempotency-Key", e.0))
    }
}

/// A conversation id from a client: an id that cannot exist is simply not found.
pub fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    ConversationId::parse(raw).map_err(|_| ApiError::NotFound("conversation not found".into()))
}

/// `POST /api/chat`: one turn, answered as JSON. The turn runs in its own task, so it finishes
/// and is stored even when the client disconnects; a repeated key answers what was stored.
async fn chat(
    State(state): State<ChatState>,
    AuthUser(user): AuthUser,
    Deadline(deadline): Deadline,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    JsonBody(body): JsonBody<ChatRequest>,
) -> Result<Response, ApiError> {
    let text = ChatText::parse(&body.message).map_err(|e| ApiError::invalid("message", e.0))?;
    let conversation = body
        .conversation_id
        .as_deref()
        .map(conversation_id)
        .transpose()?;
    let request = TurnRequest {
        conversation,
        text,
        key,
        channel: "api",
    };
    let begun = match turn::begin(&state.app.pool, &state.app.limits, &user, &request).await? {
        Start::Replay(replayed) => return Ok(Json(replayed.response).into_response()),
        Start::Run(begun) => begun,
    };
    let worker = tokio::spawn(async move {
        // Nobody streams this turn: events go nowhere.
        let (events, _) = mpsc::unbounded_channel();
        turn::respond(&state.app, &state.model, &user, &begun, &events, deadline).await
    });
    let reply = worker
        .await
        .map_err(|panic| ApiError::Internal(anyhow::anyhow!("chat turn panicked: {panic}")))??;
    Ok(Json(reply.response).into_response())
}
