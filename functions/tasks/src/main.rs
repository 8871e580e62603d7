//! Lambda entry point of the REST task API.

use smart_todo_shared::config::{Config, PoolSettings};
use smart_todo_shared::{AppState, http, tracing_setup};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_setup::init();
    let config = Config::load(PoolSettings::LAMBDA).await?;
    let state = AppState::from_config(&config)?;
    lambda_http::run(http::api_app(smart_todo_tasks::router(state))).await
}
