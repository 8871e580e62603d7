//! Typed configuration, read once at start-up from the environment and, when `APP_SECRET_ARN`
//! is set, from one Secrets Manager secret. A missing or bad setting stops start-up with its name.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::SecretString;

/// Keys the app secret may hold; anything else in it is ignored.
pub const SECRET_KEYS: [&str; 3] = ["DATABASE_URL", "OPENAI_API_KEY", "AUTH_JWT_SECRET"];

/// Shortest HS256 secret accepted: 256 bits, as RFC 7518 asks for HS256 keys.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// What every function needs, already checked. Settings of one function only (the chat model,
/// the MCP host allow-list) are read by that function from the same [`Sources`].
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub limits: Limits,
}

/// Per-user limits, counted in PostgreSQL so they hold across every instance. Defaults are far
/// above what a person does by hand; a script or a runaway client hits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `LIMIT_CHAT_TURNS_PER_MINUTE`: chat turns (each up to five model rounds) per minute.
    pub chat_turns_per_minute: i32,
    /// `LIMIT_CHAT_TURNS_PER_DAY`: chat turns per UTC day.
    pub chat_turns_per_day: i32,
    /// `LIMIT_WRITES_PER_MINUTE`: task changes per minute, from any interface.
    pub writes_per_minute: i32,
    /// `LIMIT_TASKS_PER_USER`: tasks a user may have.
    pub tasks_per_user: i64,
    /// `LIMIT_CONVERSATIONS_PER_USER`: conversations a user may have.
    pub conversations_per_user: i64,
    /// `LIMIT_MESSAGES_PER_CONVERSATION`: stored messages (all roles) per conversation.
    pub messages_per_conversation: i64,
    /// `CHAT_HISTORY_TOKENS`: the estimated tokens of history a chat turn sends the model (the
    /// newest messages that fit; earlier task lists compacted). The largest running cost.
    pub history_tokens: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Limits {
    /// Limits a person would not hit by hand.
    pub const DEFAULT: Self = Self {
        chat_turns_per_minute: 20,
        chat_turns_per_day: 500,
        writes_per_minute: 600,
        tasks_per_user: 10_000,
        conversations_per_user: 1_000,
        messages_per_conversation: 2_000,
        history_tokens: 8_000,
    };

    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let d = Self::default();
        let n = |key: &str, default: i64| -> anyhow::Result<i64> {
            Ok(parse_number(get, key, default as usize, 1..=100_000_000)? as i64)
        };
        Ok(Self {
            chat_turns_per_minute: n(
                "LIMIT_CHAT_TURNS_PER_MINUTE",
                d.chat_turns_per_minute.into(),
            )? as i32,
            chat_turns_per_day: n("LIMIT_CHAT_TURNS_PER_DAY", d.chat_turns_per_day.into())? as i32,
            writes_per_minute: n("LIMIT_WRITES_PER_MINUTE", d.writes_per_minute.into())? as i32,
            tasks_per_user: n("LIMIT_TASKS_PER_USER", d.tasks_per_user)?,
            conversations_per_user: n("LIMIT_CONVERSATIONS_PER_USER", d.conversations_per_user)?,
            messages_per_conversation: n(
                "LIMIT_MESSAGES_PER_CONVERSATION",
                d.messages_per_conversation,
            )?,
            history_tokens: parse_number(
                get,
                "CHAT_HISTORY_TOKENS",
                d.history_tokens,
                500..=1_000_000,
            )?,
        })
    }
}

/// Where settings come from: the environment and, when `APP_SECRET_ARN` is set, the app secret.
/// A variable set directly wins; blank values count as unset. Read once at start-up.
#[derive(Clone, Default)]
pub struct Sources {
    env: HashMap<String, String>,
    secret: HashMap<String, String>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets: show only which keys are set.
        f.debug_struct("Sources")
            .field("secret_keys", &self.secret.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Sources {
    /// The process environment, then the app secret when `APP_SECRET_ARN` is set.
    pub async fn load() -> anyhow::Result<Self> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let secret = match env.get("APP_SECRET_ARN").filter(|v| !v.is_empty()) {
            Some(arn) => crate::secrets::fetch_app_secret(arn).await?,
            None => HashMap::new(),
        };
        Ok(Self { env, secret })
    }

    /// Settings given directly (tests, tools).
    pub fn from_maps(env: HashMap<String, String>, secret: HashMap<String, String>) -> Self {
        Self { env, secret }
    }

    /// A setting's value; `None` when unset or blank.
    pub fn get(&self, key: &str) -> Option<String> {
        self.env
            .get(key)
            .filter(|v| !v.trim().is_empty())
            .or_else(|| self.secret.get(key).filter(|v| !v.trim().is_empty()))
            .cloned()
    }

    /// A secret setting.
    pub fn secret(&self, key: &str) -> Option<SecretString> {
        self.get(key).map(SecretString::from)
    }

    /// A yes/no setting: `true`/`false`/`1`/`0`/`yes`/`no`/`on`/`off`; anything else stops start-up.
    pub fn flag(&self, key: &str, default: bool) -> anyhow::Result<bool> {
        match self
            .get(key)
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => bail!("{key} must be true or false, not {other:?}"),
        }
    }

    /// A comma-separated list, trimmed, without empty entries.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// How to reach PostgreSQL and how many connections to keep.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL`; `sslmode=require` (or stricter) turns TLS on.
    pub url: SecretString,
    /// `DATABASE_CA_FILE`: an extra PEM root to trust besides the webpki roots (self-hosted servers).
    pub ca_file: Option<PathBuf>,
    pub pool: PoolSettings,
}

/// Pool size and the timeouts deadpool leaves unset by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// `DB_POOL_MAX_SIZE`: one Lambda environment serves one request at a time, so 2 is plenty there.
    pub max_size: usize,
    /// `DB_POOL_WAIT_TIMEOUT_MS`: how long a request waits for a free connection.
    pub wait_timeout: Duration,
    /// `DB_CONNECT_TIMEOUT_MS`: how long opening a connection (TCP + TLS + auth) may take.
    pub connect_timeout: Duration,
    /// `DB_RECYCLE_TIMEOUT_MS`: how long checking an idle connection may take.
    pub recycle_timeout: Duration,
    /// `DB_VERIFY_IDLE_MS`: a connection idle longer than this is checked with an empty query
    /// before it is handed out (Neon suspends idle computes; a dead socket is replaced, not used).
    pub verify_after_idle: Duration,
    /// `DB_STATEMENT_CACHE`: whether connections keep prepared statements.
    pub statement_cache: StatementCache,
}

/// `DB_STATEMENT_CACHE=auto|on|off`. Prepared statements skip parsing and planning on every call
/// but live on one server connection, which a transaction pooler does not keep a client on
/// (PgBouncer before 1.21, or without `max_prepared_statements`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementCache {
    /// On for a direct connection, off for a recognised transaction pooler (a `-pooler` host,
    /// port 6432 or 6543).
    Auto,
    /// Always: a direct connection, or a pooler that keeps prepared statements (Neon's).
    On,
    /// Never: every statement goes unnamed, which any pooler accepts.
    Off,
}

impl StatementCache {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        match get("DB_STATEMENT_CACHE").as_deref().map(str::trim) {
            None | Some("auto") => Ok(Self::Auto),
            Some("on") => Ok(Self::On),
            Some("off") => Ok(Self::Off),
            Some(other) => bail!("DB_STATEMENT_CACHE must be auto, on or off (got {other:?})"),
        }
    }
}

impl PoolSettings {
    /// Defaults for a Lambda environment.
    pub const LAMBDA: Self = Self {
        max_size: 2,
        wait_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        recycle_timeout: Duration::from_secs(2),
        verify_after_idle: Duration::from_secs(10),
        statement_cache: StatementCache::Auto,
    };

    /// Defaults for `smart-todo serve`, which serves many requests at once: two connections per
    /// core. More only queue inside PostgreSQL on the same cores: on this 2-core machine 16
    /// connections took `POST /api/tasks` p99 at concurrency 16 to 36–123 ms against 1.6 ms with
    /// 4, for 95 % of the throughput.
    pub fn server() -> Self {
        Self::server_for(
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
        )
    }

    /// The `serve` defaults on a machine with `cores` cores.
    pub const fn server_for(cores: usize) -> Self {
        Self {
            max_size: if cores < 1 { 2 } else { cores * 2 },
            ..Self::LAMBDA
        }
    }
}

/// Which tokens are accepted. Both modes may be on at once: HS256 tokens are checked against the
/// shared secret only, asymmetric ones against the JWKS only.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `AUTH_JWT_SECRET`: HS256 shared secret (the Better Auth shared-secret pattern).
    pub jwt_secret: Option<SecretString>,
    /// `AUTH_JWKS_URL`: where the issuer publishes its public keys.
    pub jwks_url: Option<String>,
    /// `AUTH_ISSUER`: required `iss` when set.
    pub issuer: Option<String>,
    /// `AUTH_AUDIENCE`: required `aud` when set.
    pub audience: Option<String>,
    /// `AUTH_CLIENT_IDS`: when set, a token's `client_id` (Cognito access tokens) or `azp` must be
    /// one of these app clients.
    pub client_ids: Vec<String>,
}

impl Config {
    /// Reads the process environment, then the app secret when `APP_SECRET_ARN` is set.
    pub async fn load(pool_defaults: PoolSettings) -> anyhow::Result<Self> {
        Self::from(&Sources::load().await?, pool_defaults)
    }

    /// Builds the config from already loaded sources.
    pub fn from(sources: &Sources, pool_defaults: PoolSettings) -> anyhow::Result<Self> {
        let get = |key: &str| sources.get(key);
        Ok(Self {
            database: DatabaseConfig::from_lookup(&get, pool_defaults)?,
            auth: AuthConfig::from_lookup(&get)?,
            limits: Limits::from_lookup(&get)?,
        })
    }

    /// Builds the config from the environment and the secret's keys; a variable set directly wins.
    pub fn from_sources(
        env: &HashMap<String, String>,
        secret: &HashMap<String, String>,
        pool_defaults: PoolSettings,
    ) -> anyhow::Result<Self> {
        Self::from(
            &Sources::from_maps(env.clone(), secret.clone()),
            pool_defaults,
        )
    }
}

impl DatabaseConfig {
    /// Only the database settings: what `smart-todo migrate` needs (no auth, no model).
    pub async fn load(pool_defaults: PoolSettings) -> anyhow::Result<Self> {
        let sources = Sources::load().await?;
        Self::from_lookup(&|key: &str| sources.get(key), pool_defaults)
    }

    fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        pool_defaults: PoolSettings,
    ) -> anyhow::Result<Self> {
        let url = get("DATABASE_URL").context(
            "DATABASE_URL is not set (neither in the environment nor in the APP_SECRET_ARN secret)",
        )?;
        let pool = PoolSettings {
            max_size: parse_number(get, "DB_POOL_MAX_SIZE", pool_defaults.max_size, 1..=512)?,
            wait_timeout: parse_millis(get, "DB_POOL_WAIT_TIMEOUT_MS", pool_defaults.wait_timeout)?,
            connect_timeout: parse_millis(
                get,
                "DB_CONNECT_TIMEOUT_MS",
                pool_defaults.connect_timeout,
            )?,
            recycle_timeout: parse_millis(
                get,
                "DB_RECYCLE_TIMEOUT_MS",
                pool_defaults.recycle_timeout,
            )?,
            verify_after_idle: parse_millis(
                get,
                "DB_VERIFY_IDLE_MS",
                pool_defaults.verify_after_idle,
            )?,
            statement_cache: match get("DB_STATEMENT_CACHE") {
                Some(_) => StatementCache::from_lookup(get)?,
                None => pool_defaults.statement_cache,
            },
        };
        Ok(Self {
            url: SecretString::from(url),
            ca_file: get("DATABASE_CA_FILE").map(PathBuf::from),
            pool,
        })
    }
}

impl AuthConfig {
    /// Auth settings from the process environment alone (what `smart-todo token` needs).
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(&|key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty()))
    }

    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let jwt_secret = get("AUTH_JWT_SECRET");
        if let Some(secret) = &jwt_secret
            && secret.len() < MIN_JWT_SECRET_BYTES
        {
            bail!("AUTH_JWT_SECRET is too short: use at least {MIN_JWT_SECRET_BYTES} random bytes");
        }
        let auth = Self {
            jwt_secret: jwt_secret.map(SecretString::from),
            jwks_url: get("AUTH_JWKS_URL"),
            issuer: get("AUTH_ISSUER"),
            audience: get("AUTH_AUDIENCE"),
            client_ids: get("AUTH_CLIENT_IDS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        if auth.jwt_secret.is_none() && auth.jwks_url.is_none() {
            bail!("no authentication is configured: set AUTH_JWT_SECRET or AUTH_JWKS_URL");
        }
        Ok(auth)
    }
}

fn parse_number(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> anyhow::Result<usize> {
    let Some(raw) = get(key) else {
        return Ok(default);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => bail!(
            "{key} must be a whole number from {} to {}",
            range.start(),
            range.end()
        ),
    }
}

fn parse_millis(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: Duration,
) -> anyhow::Result<Duration> {
    let millis = parse_number(get, key, default.as_millis() as usize, 1..=600_000)?;
    Ok(Duration::from_millis(millis as u64))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_missing_database_url_is_named_in_the_error() {
        let err = Config::from_sources(
            &vars(&[("AUTH_JWT_SECRET", SECRET)]),
            &HashMap::new(),
            PoolSettings::LAMBDA,
        )
        .unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
    }

    #[test]
    fn missing_auth_settings_stop_start_up() {
        let err = Config::from_sources(
            &vars(&[("DATABASE_URL", "postgres://x/y")]),
            &HashMap::new(),
            PoolSettings::LAMBDA,
        )
        .unwrap_err();
        assert!(err.to_string().contains("AUTH_JWT_SECRET"), "{err}");
    }

    #[test]
    fn a_short_jwt_secret_is_refused() {
        let env = vars(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("AUTH_JWT_SECRET", "short"),
        ]);
        assert!(Config::from_sources(&env, &HashMap::new(), PoolSettings::LAMBDA).is_err());
    }

    #[test]
    fn db_statement_cache_is_auto_unless_set_and_refuses_other_words() {
        let with = |value: Option<&str>| {
            let mut env =
                HashMap::from([("DATABASE_URL".to_owned(), "postgres://u@h/db".to_owned())]);
            if let Some(value) = value {
                env.insert("DB_STATEMENT_CACHE".to_owned(), value.to_owned());
            }
            DatabaseConfig::from_lookup(&|k: &str| env.get(k).cloned(), PoolSettings::LAMBDA)
                .map(|c| c.pool.statement_cache)
        };
        assert_eq!(with(None).unwrap(), StatementCache::Auto);
        assert_eq!(with(Some("auto")).unwrap(), StatementCache::Auto);
        assert_eq!(with(Some("on")).unwrap(), StatementCache::On);
        assert_eq!(with(Some(" off ")).unwrap(), StatementCache::Off);
        let err = with(Some("yes")).unwrap_err().to_string();
        assert!(
            err.contains("DB_STATEMENT_CACHE") && err.contains("yes"),
            "{err}"
        );
    }

    #[test]
    fn the_serve_pool_is_two_connections_per_core_unless_set() {
        assert_eq!(PoolSettings::server_for(1).max_size, 2);
        assert_eq!(PoolSettings::server_for(2).max_size, 4);
        assert_eq!(PoolSettings::server_for(8).max_size, 16);
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(PoolSettings::server().max_size, 2 * cores);
        let env = HashMap::from([
            ("DATABASE_URL".to_owned(), "postgres://u@h/db".to_owned()),
            ("DB_POOL_MAX_SIZE".to_owned(), "7".to_owned()),
        ]);
        let set =
            DatabaseConfig::from_lookup(&|k: &str| env.get(k).cloned(), PoolSettings::server());
        assert_eq!(set.unwrap().pool.max_size, 7);
    }

    #[test]
    fn secret_values_fill_gaps_and_variables_set_directly_win() {
        let env = vars(&[("DATABASE_URL", "postgres://env/db")]);
        let secret = vars(&[
            ("DATABASE_URL", "postgres://secret/db"),
            ("AUTH_JWT_SECRET", SECRET),
            ("OPENAI_API_KEY", "sk-test"),
        ]);
        let config = Config::from_sources(&env, &secret, PoolSettings::LAMBDA).unwrap();
        assert_eq!(config.database.url.expose_secret(), "postgres://env/db");
        assert_eq!(config.auth.jwt_secret.unwrap().expose_secret(), SECRET);
        let sources = Sources::from_maps(env, secret);
        assert_eq!(
            sources.secret("OPENAI_API_KEY").unwrap().expose_secret(),
            "sk-test"
        );
    }

    #[test]
    fn pool_settings_have_defaults_and_can_be_overridden() {
        let env = vars(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("AUTH_JWT_SECRET", SECRET),
            ("DB_POOL_MAX_SIZE", "7"),
            ("DB_POOL_WAIT_TIMEOUT_MS", "250"),
        ]);
        let pool = Config::from_sources(&env, &HashMap::new(), PoolSettings::LAMBDA)
            .unwrap()
            .database
            .pool;
        assert_eq!(pool.max_size, 7);
        assert_eq!(pool.wait_timeout, Duration::from_millis(250));
        assert_eq!(pool.connect_timeout, PoolSettings::LAMBDA.connect_timeout);
    }

    #[test]
    fn a_bad_pool_size_is_named_in_the_error() {
        let env = vars(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("AUTH_JWT_SECRET", SECRET),
            ("DB_POOL_MAX_SIZE", "0"),
        ]);
        let err = Config::from_sources(&env, &HashMap::new(), PoolSettings::LAMBDA).unwrap_err();
        assert!(err.to_string().contains("DB_POOL_MAX_SIZE"), "{err}");
    }

    #[test]
    fn limits_have_defaults_and_a_bad_value_is_named() {
        let base = [
            ("DATABASE_URL", "postgres://x/y"),
            ("AUTH_JWT_SECRET", SECRET),
        ];
        let config =
            Config::from_sources(&vars(&base), &HashMap::new(), PoolSettings::LAMBDA).unwrap();
        assert_eq!(config.limits, Limits::default());
        let mut env = vars(&base);
        env.insert("LIMIT_TASKS_PER_USER".into(), "5".into());
        let config = Config::from_sources(&env, &HashMap::new(), PoolSettings::LAMBDA).unwrap();
        assert_eq!(config.limits.tasks_per_user, 5);
        env.insert("LIMIT_WRITES_PER_MINUTE".into(), "lots".into());
        let err = Config::from_sources(&env, &HashMap::new(), PoolSettings::LAMBDA).unwrap_err();
        assert!(err.to_string().contains("LIMIT_WRITES_PER_MINUTE"), "{err}");
    }

    #[test]
    fn a_flag_takes_true_or_false_and_refuses_anything_else() {
        let sources = Sources::from_maps(
            vars(&[("A", "off"), ("B", "TRUE"), ("C", "maybe")]),
            HashMap::new(),
        );
        assert!(!sources.flag("A", true).unwrap());
        assert!(sources.flag("B", false).unwrap());
        assert!(sources.flag("UNSET", true).unwrap());
        let err = sources.flag("C", true).unwrap_err();
        assert!(err.to_string().contains('C'), "{err}");
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let env = vars(&[
            ("DATABASE_URL", "postgres://u:pw-visible@h/db"),
            ("AUTH_JWT_SECRET", SECRET),
        ]);
        let config = Config::from_sources(&env, &HashMap::new(), PoolSettings::LAMBDA).unwrap();
        let sources = Sources::from_maps(env, HashMap::new());
        let printed = format!("{config:?} {sources:?}");
        assert!(
            !printed.contains("pw-visible") && !printed.contains(SECRET),
            "{printed}"
        );
    }
}
