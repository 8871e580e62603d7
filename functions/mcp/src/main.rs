//! Lambda entry point of the MCP server.

use smart_todo_mcp::McpSettings;
use smart_todo_shared::config::{Config, PoolSettings, Sources};
use smart_todo_shared::{AppState, http, tracing_setup};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_setup::init();
    let sources = Sources::load().await?;
    let config = Config::from(&sources, PoolSettings::LAMBDA)?;
    let settings = McpSettings::from_sources(&sources);
    let state = AppState::from_config(&config)?;
    lambda_http::run(http::api_app(smart_todo_mcp::router(state, &settings))).await
}
