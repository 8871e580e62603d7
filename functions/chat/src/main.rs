//! Lambda entry point of the chat function. Behind a Function URL in `RESPONSE_STREAM` mode
//! (`CHAT_RESPONSE_STREAMING=true`, the default) deltas leave as they are produced; behind API
//! Gateway, which only understands buffered responses, set it to `false`.

use std::sync::Arc;

use smart_todo_chat::ChatState;
use smart_todo_shared::config::{Config, PoolSettings};
use smart_todo_shared::{AppState, http, tracing_setup};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_setup::init();
    let config = Config::load(PoolSettings::LAMBDA).await?;
    let state = ChatState {
        app: AppState::from_config(&config)?,
        model: Arc::new(config.chat.model()?),
    };
    let router = http::api_app(smart_todo_chat::router(state));
    match std::env::var("CHAT_RESPONSE_STREAMING")
        .as_deref()
        .map(str::trim)
    {
        Ok("false") | Ok("0") => lambda_http::run(router).await,
        _ => lambda_http::run_with_streaming_response(router).await,
    }
}
