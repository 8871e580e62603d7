//! `smart-todo`: run every function's router on one port with the built frontend, apply
//! migrations, and mint local tokens. For local use and operations; never deployed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use smart_todo_chat::agent::ChatConfig;
use smart_todo_cli::server::{self, ServerLimits};
use smart_todo_cli::{AllowedHosts, DevSignIn, ServeOptions};
use smart_todo_mcp::McpSettings;
use smart_todo_shared::auth::mint_hs256;
use smart_todo_shared::config::{AuthConfig, Config, DatabaseConfig, PoolSettings, Sources};
use smart_todo_shared::domain::UserId;
use smart_todo_shared::{AppState, db, tracing_setup};

#[derive(Parser)]
#[command(
    name = "smart-todo",
    version,
    about = "Smart Todo: local server, migrations and tokens"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the task API (and the other functions as they land) plus the frontend on one port.
    Serve {
        #[arg(long, env = "HOST", default_value = "127.0.0.1")]
        host: String,
        #[arg(long, env = "PORT", default_value_t = 8080)]
        port: u16,
        /// Built frontend to serve at `/` (default: frontend/dist when present).
        #[arg(long, env = "FRONTEND_DIR")]
        frontend_dir: Option<PathBuf>,
        /// Headers (and the wait for the next request on a kept-alive connection) must arrive
        /// within this many milliseconds.
        #[arg(long, env = "SERVE_HEADER_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
        header_timeout_ms: u64,
        /// A request body must arrive within this many milliseconds.
        #[arg(long, env = "SERVE_BODY_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
        body_timeout_ms: u64,
        /// Most connections open at once.
        #[arg(long, env = "SERVE_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        max_connections: u64,
        /// Local development: offer `POST /dev/token` (a token for any user name) for the sign-in
        /// screen. Only on a loopback HOST, only with AUTH_JWT_SECRET and no issuer or JWKS.
        #[arg(long)]
        dev: bool,
    },
    /// Apply pending database migrations (use the direct, non-pooler URL).
    Migrate,
    /// Print a signed HS256 token for a user (needs AUTH_JWT_SECRET).
    Token {
        #[arg(long)]
        user: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_setup::init();
    match Cli::parse().command {
        Command::Serve {
            host,
            port,
            frontend_dir,
            header_timeout_ms,
            body_timeout_ms,
            max_connections,
            dev,
        } => {
            let limits = ServerLimits {
                header_timeout: Duration::from_millis(header_timeout_ms),
                body_timeout: Duration::from_millis(body_timeout_ms),
                max_connections: max_connections as usize,
                ..ServerLimits::default()
            };
            serve(&host, port, frontend_dir, dev, limits).await
        }
        Command::Migrate => {
            // Migrations need only the database: no auth or model settings.
            let database = DatabaseConfig::load(PoolSettings::LAMBDA).await?;
            let pool = db::connect(&database)?;
            let applied = db::migrate(&pool).await?;
            if applied.is_empty() {
                println!("database is up to date");
            } else {
                applied.iter().for_each(|m| println!("applied {m}"));
            }
            Ok(())
        }
        Command::Token { user, ttl } => {
            let auth = AuthConfig::from_env()?;
            let secret = auth
                .jwt_secret
                .clone()
                .context("AUTH_JWT_SECRET is not set: tokens are signed with it")?;
            let user = UserId::parse(&user).map_err(|e| anyhow::anyhow!("--user: {e}"))?;
            println!(
                "{}",
                mint_hs256(&auth, &secret, &user, Duration::from_secs(ttl))?
            );
            Ok(())
        }
    }
}

async fn serve(
    host: &str,
    port: u16,
    frontend_dir: Option<PathBuf>,
    dev: bool,
    limits: ServerLimits,
) -> anyhow::Result<()> {
    let sources = Sources::load().await?;
    let config = Config::from(&sources, PoolSettings::server())?;
    let chat = ChatConfig::from_sources(&sources)?;
    let mcp = McpSettings::from_sources(&sources);
    let state = AppState::from_config(&config)?;
    let frontend_dir = frontend_dir.or_else(|| {
        let default = PathBuf::from("frontend/dist");
        default.join("index.html").exists().then_some(default)
    });
    let dev_sign_in = DevSignIn::decide(dev, host, &config.auth);
    match &dev_sign_in {
        DevSignIn::Enabled(_) => println!("dev sign-in: POST /dev/token enabled (--dev, loopback)"),
        DevSignIn::Disabled(why) => println!("dev sign-in: {why}"),
    }
    let allowed_hosts = AllowedHosts::parse(sources.get("ALLOWED_HOSTS").as_deref());
    let model = Arc::new(chat.model()?);
    println!("chat engine: {}", model.name());
    let app = smart_todo_cli::app(
        state,
        model,
        ServeOptions {
            mcp: &mcp,
            auth: &config.auth,
            dev_sign_in,
            allowed_hosts,
            frontend_dir: frontend_dir.as_deref(),
        },
    );

    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .with_context(|| format!("{host}:{port} is not an address"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    println!("smart-todo serving on http://{}", listener.local_addr()?);
    if let Some(dir) = &frontend_dir {
        println!("frontend from {}", dir.display());
    }
    server::serve(listener, app, limits, server::shutdown_signal())
        .await
        .context("serving")
}
