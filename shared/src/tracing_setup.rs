//! Log set-up: JSON lines on Lambda (CloudWatch parses them), readable text elsewhere.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `RUST_LOG` overrides the default (`info`, with rmcp's
/// per-request chatter at `warn`).
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"));
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    // Colour codes only for a person at a terminal, never in a log file.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi && !on_lambda)
        .with_target(false);
    let result = if on_lambda {
        // Lambda adds its own timestamps and request ids.
        builder
            .json()
            .without_time()
            .with_current_span(false)
            .try_init()
    } else {
        builder.try_init()
    };
    // A second call (tests) keeps the first subscriber.
    drop(result);
}
