//! Lambda entry point of the chat function. Behind a Function URL in `RESPONSE_STREAM` mode
//! (`CHAT_RESPONSE_STREAMING=true`, the default) deltas leave as they are produced; behind API
//! Gateway, which only understands buffered responses, set it to `false`.

use std::sync::Arc;

use smart_todo_chat::ChatState;
use smart_todo_chat::agent::ChatConfig;
use smart_todo_shared::config::{Config, PoolSettings, Sources};
use smart_todo_shared::{AppState, http, tracing_setup};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_setup::init();
    let sources = Sources::load().await?;
    let config = Config::from(&sources, PoolSettings::LAMBDA)?;
    let chat = ChatConfig::from_sources(&sources)?;
    let state = ChatState::new(AppState::from_config(&config)?, Arc::new(chat.model()?));
    let router = http::api_app(smart_todo_chat::router(state));
    if chat.response_streaming {
        lambda_http::run_with_streaming_response(router).await
    } else {
        lambda_http::run(router).await
    }
}
