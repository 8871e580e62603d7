//! Lambda entry point of the REST task API.

use std::sync::Arc;

use smart_todo_shared::config::{Config, PoolSettings};
use smart_todo_shared::{AppState, Authenticator, db, http, tracing_setup};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_setup::init();
    let config = Config::load(PoolSettings::LAMBDA).await?;
    let state = AppState {
        pool: db::connect(&config.database)?,
        auth: Arc::new(Authenticator::new(&config.auth)?),
    };
    lambda_http::run(http::api_app(smart_todo_tasks::router(state))).await
}
