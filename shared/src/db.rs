//! The PostgreSQL pool (TLS with SNI for Neon), error classification, and migrations.

use std::sync::Arc;

use anyhow::Context;
use deadpool_postgres::{
    Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts,
};
use secrecy::ExposeSecret;
use tokio_postgres::config::SslMode;

use crate::config::{DatabaseConfig, PoolSettings};

pub use deadpool_postgres::Pool as DbPool;
/// Where statements run: a pooled connection (`&*conn`) or a transaction. Repositories take it so
/// one statement can join a caller's transaction (a tool's effect and its record commit together).
pub use tokio_postgres::GenericClient as Executor;

refinery::embed_migrations!("../migrations");

/// Why a database call failed: the database could not be reached (503, retry later) or a statement
/// failed (a bug: 500).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("database query failed")]
    Query(#[source] anyhow::Error),
    /// A unique constraint refused the write: a domain conflict, not a bug.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::PoolError;
        match err {
            PoolError::Backend(e) => Self::from(e),
            other => Self::Unavailable(anyhow::Error::new(other).context("no database connection")),
        }
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        if let Some(db) = err.as_db_error()
            && db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION
        {
            return Self::Conflict {
                constraint: db.constraint().unwrap_or_default().to_owned(),
            };
        }
        let connection_lost = err.is_closed()
            || match err.code() {
                // Class 08: connection exception; 57P0x: the server is shutting down or restarting;
                // 53300: too many connections.
                Some(code) => {
                    let code = code.code();
                    code.starts_with("08") || code.starts_with("57P0") || code == "53300"
                }
                // No SQLSTATE: an I/O or protocol failure, not a bad statement.
                None => err.as_db_error().is_none() && std::error::Error::source(&err).is_some(),
            };
        if connection_lost {
            Self::Unavailable(err.into())
        } else {
            Self::Query(err.into())
        }
    }
}

/// Builds the pool from the configuration. Connections open lazily, on first use.
pub fn connect(config: &DatabaseConfig) -> anyhow::Result<Pool> {
    let pg_config: tokio_postgres::Config = config
        .url
        .expose_secret()
        .parse()
        // The parse error never includes the URL, but say which setting it came from.
        .context("DATABASE_URL is not a valid PostgreSQL connection URL")?;
    pool_from_pg_config(pg_config, config.ca_file.as_deref(), config.pool)
}

/// Builds a pool from an already parsed connection config (tests use this to point at a fresh
/// database).
pub fn pool_from_pg_config(
    mut pg_config: tokio_postgres::Config,
    ca_file: Option<&std::path::Path>,
    settings: PoolSettings,
) -> anyhow::Result<Pool> {
    pg_config.connect_timeout(settings.connect_timeout);
    if pg_config.get_application_name().is_none() {
        pg_config.application_name("smart-todo");
    }
    // `Fast` recycling runs no statement when a connection is handed out, so a request costs
    // exactly the statements it makes; a dead connection surfaces as a 503 and is dropped.
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = if pg_config.get_ssl_mode() == SslMode::Disable {
        Manager::from_config(pg_config, tokio_postgres::NoTls, manager_config)
    } else {
        Manager::from_config(pg_config, tls_connector(ca_file)?, manager_config)
    };
    let verify_after = settings.verify_after_idle;
    let verify_timeout = settings.recycle_timeout;
    Pool::builder(manager)
        .max_size(settings.max_size)
        // A connection idle for a while may have died silently (a suspended Neon compute, a
        // restarted server): check it with an empty query before use, so the request gets a
        // live connection instead of failing. Busy connections are not checked (no extra trip).
        .pre_recycle(Hook::async_fn(move |client, metrics| {
            Box::pin(async move {
                if metrics.last_used() < verify_after {
                    return Ok(());
                }
                match tokio::time::timeout(verify_timeout, client.simple_query("")).await {
                    Ok(Ok(_)) => Ok(()),
                    _ => Err(HookError::message("an idle connection no longer answers")),
                }
            })
        }))
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(settings.wait_timeout),
            create: Some(settings.connect_timeout),
            recycle: Some(settings.recycle_timeout),
        })
        .build()
        .context("building the database pool")
}

/// rustls with the webpki roots (Neon's certificates chain to them), plus an optional extra root.
/// tokio-postgres-rustls sends SNI when the host is a DNS name, which Neon routes by.
fn tls_connector(
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("reading DATABASE_CA_FILE {}", path.display()))?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert =
                cert.with_context(|| format!("DATABASE_CA_FILE {} is not PEM", path.display()))?;
            roots
                .add(cert)
                .context("DATABASE_CA_FILE holds an unusable certificate")?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
}

/// A pooled connection; derefs to the tokio-postgres client, so `&*conn` is an [`Executor`] and
/// `conn.transaction()` opens a transaction.
pub struct Client(deadpool_postgres::Object);

impl std::ops::Deref for Client {
    type Target = tokio_postgres::Client;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Hands out a pooled connection, classifying failures.
pub async fn client(pool: &Pool) -> Result<Client, DbError> {
    Ok(Client(pool.get().await?))
}

/// `SELECT 1` through the pool: what the health check reports.
pub async fn ping(pool: &Pool) -> Result<(), DbError> {
    let client = client(pool).await?;
    client.query_typed("SELECT 1", &[]).await?;
    Ok(())
}

/// Arbitrary key for the advisory lock that serialises concurrent migration runs.
const MIGRATION_LOCK: i64 = 0x5_4d41_5254_544f; // "SMARTTO"

/// Applies pending migrations from `migrations/`; safe to run twice and from two places at once.
/// Run it against a direct (non-pooler) URL: it holds a session-level advisory lock.
pub async fn migrate(pool: &Pool) -> anyhow::Result<Vec<String>> {
    let mut client = pool.get().await.context("connecting to run migrations")?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .context("taking the migration lock")?;
    let report = migrations::runner().run_async(&mut **client).await;
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let report = report.context("applying migrations")?;
    unlock.context("releasing the migration lock")?;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect())
}
