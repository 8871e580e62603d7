//! Lambda entry point of the chat function. Behind a Function URL in `RESPONSE_STREAM` mode
//! (`CHAT_RESPONSE_STREAMING=true`, the default) deltas leave as they are produced; behind API
//! Gateway, which only understands buffered responses, set it to `false`.

use std::net::SocketAddr;
use std::sync::Arc;

use smart_todo_chat::agent::ChatConfig;
use smart_todo_chat::{ChatState, runtime_api};
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
        // The runtime's connections to the Runtime API keep Nagle's algorithm on, which holds
        // each streamed write after the first for a delayed ACK; turn it off before each response.
        let router = match runtime_api::runtime_api_address() {
            Some(api) => router.layer(axum::middleware::map_request(move |request| {
                nodelay_towards(api, request)
            })),
            None => router,
        };
        lambda_http::run_with_streaming_response(router).await
    } else {
        lambda_http::run(router).await
    }
}

async fn nodelay_towards(
    api: SocketAddr,
    request: axum::extract::Request,
) -> axum::extract::Request {
    match runtime_api::set_nodelay_towards(api) {
        Ok(0) => {}
        Ok(changed) => tracing::debug!(changed, "TCP_NODELAY set on the Runtime API connections"),
        Err(error) => {
            tracing::warn!(%error, "could not set TCP_NODELAY on the Runtime API connections")
        }
    }
    request
}
