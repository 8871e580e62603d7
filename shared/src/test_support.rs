//! Helpers for tests in every crate: a fresh, migrated PostgreSQL database per test, and tokens.
//! Needs `TEST_DATABASE_URL` (a superuser URL of a throw-away cluster); `scripts/test` sets it.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::auth::{Authenticator, mint_hs256};
use crate::config::{AuthConfig, PoolSettings};
use crate::db::{self, DbPool};
use crate::domain::UserId;

/// The HS256 secret test apps are configured with.
pub const TEST_JWT_SECRET: &str = "test-secret-0123456789abcdef0123456789";

/// The admin URL of the test cluster.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").expect(
        "TEST_DATABASE_URL is not set: run the tests through scripts/test, which starts PostgreSQL",
    )
}

/// A database of its own for one test.
pub struct TestDb {
    pub pool: DbPool,
    pub name: String,
    /// Connection settings of this database (for extra connections a test makes).
    pub pg_config: tokio_postgres::Config,
}

impl TestDb {
    /// Creates and migrates a fresh database.
    pub async fn new() -> Self {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = connect_raw(admin_url().parse().expect("TEST_DATABASE_URL parses")).await;
        // Identifiers cannot be parameters; this name is generated above, never user input.
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE");
        let mut pg_config: tokio_postgres::Config = admin_url().parse().unwrap();
        pg_config.dbname(&name);
        let pool = db::pool_from_pg_config(
            pg_config.clone(),
            None,
            PoolSettings {
                max_size: 4,
                ..PoolSettings::LAMBDA
            },
        )
        .expect("pool");
        db::migrate(&pool).await.expect("migrations apply");
        Self {
            pool,
            name,
            pg_config,
        }
    }

    /// A plain connection to this database, outside the pool.
    pub async fn raw_client(&self) -> tokio_postgres::Client {
        connect_raw(self.pg_config.clone()).await
    }
}

async fn connect_raw(config: tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect to the test cluster");
    tokio::spawn(connection);
    client
}

/// Auth settings for tests: HS256 with [`TEST_JWT_SECRET`].
pub fn auth_config() -> AuthConfig {
    AuthConfig {
        jwt_secret: Some(SecretString::from(TEST_JWT_SECRET)),
        jwks_url: None,
        issuer: None,
        audience: None,
    }
}

/// An authenticator accepting [`token`]s.
pub fn authenticator() -> Arc<Authenticator> {
    Arc::new(Authenticator::new(&auth_config()).expect("authenticator"))
}

/// A valid token for `user`.
pub fn token(user: &str) -> String {
    mint_hs256(
        &auth_config(),
        &SecretString::from(TEST_JWT_SECRET),
        &UserId::parse(user).unwrap(),
        Duration::from_secs(3600),
    )
    .unwrap()
}

/// A user id from a literal.
pub fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}
