//! All SQL lives here: one small function per statement, `$n` parameters only, every statement on
//! user data filtered by the user id. Each runs through [`crate::db::Executor::query_typed`]: one
//! round trip, prepared once per connection where the pool keeps prepared statements, unnamed
//! behind a transaction pooler that would lose them.

mod conversations;
#[macro_use]
mod tasks;
mod history;
mod lists;
mod pending;
mod turns;
mod usage;
mod users;

pub use conversations::*;
pub use history::*;
pub use lists::*;
pub use pending::*;
pub use tasks::*;
pub use turns::*;
pub use usage::*;
pub use users::*;
