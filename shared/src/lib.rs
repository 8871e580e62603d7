//! Smart Todo's common library: what every Lambda function and the CLI share — configuration and
//! secrets, the PostgreSQL pool, domain types, repositories (all SQL), task operations, auth,
//! errors and the task tool registry. It knows nothing of chat models or of any one function.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod due;
pub mod error;
pub mod history;
pub mod http;
pub mod organise;
pub mod quick;
pub mod repo;
pub mod secrets;
pub mod service;
pub mod tools;
pub mod tracing_setup;

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

pub use auth::{AuthUser, Authenticator};
pub use config::Config;
pub use db::DbPool;
pub use error::ApiError;

use std::sync::Arc;

/// What every function's handlers share: built once in `main`, cloned per request.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub auth: Arc<Authenticator>,
    pub limits: config::Limits,
}

impl AppState {
    /// The pool and the authenticator, built once from the configuration.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            pool: db::connect(&config.database)?,
            auth: Arc::new(Authenticator::new(&config.auth)?),
            limits: config.limits,
        })
    }
}

impl axum::extract::FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
