//! All SQL lives here: one small function per statement, `$n` parameters only, every statement on
//! user data filtered by the user id. `query_typed` sends each as an unnamed statement in one round
//! trip, which works behind a transaction-mode pooler (Neon's `-pooler` endpoint).

mod conversations;
mod tasks;
mod turns;
mod usage;

pub use conversations::*;
pub use tasks::*;
pub use turns::*;
pub use usage::*;
