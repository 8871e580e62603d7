//! Statements on the user's own row: their settings.

use tokio_postgres::types::Type;
use tracing::instrument;

use crate::config::Limits;
use crate::db::{DbError, Executor};
use crate::domain::{Profile, UserId, Zone};

/// What a settings write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileWritten {
    Profile(Profile),
    /// Over the writes-per-minute limit: try again after this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
}

fn profile(user: &UserId, timezone: &str) -> Profile {
    // The column only ever holds a zone the API validated; a stored one this build does not know
    // (a zone removed from a later tz database) reads as UTC rather than failing every request.
    Profile {
        user_id: user.as_str().to_owned(),
        timezone: Zone::parse(timezone).unwrap_or_default(),
    }
}

/// The user's settings; defaults for a user who has never written anything.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn get_profile(client: &impl Executor, user: &UserId) -> Result<Profile, DbError> {
    let rows = client
        .query_typed(
            "SELECT timezone FROM users WHERE user_id = $1",
            &[(&user.as_str(), Type::TEXT)],
        )
        .await?;
    Ok(profile(user, rows.first().map_or("UTC", |row| row.get(0))))
}

/// Sets the user's time zone, counted against the writes-per-minute limit, in one statement.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn set_timezone(
    client: &impl Executor,
    user: &UserId,
    zone: Zone,
    limits: &Limits,
) -> Result<ProfileWritten, DbError> {
    let rows = client
        .query_typed(
            concat!(
                "INSERT INTO users AS u (user_id, write_minute, writes, timezone)",
                " VALUES ($1, date_trunc('minute', now()), 1,",
                " CASE WHEN 1 <= $3 THEN $2 ELSE 'UTC' END)",
                " ON CONFLICT (user_id) DO UPDATE SET writes = ",
                writes_now!(),
                ",",
                " write_minute = excluded.write_minute,",
                " timezone = CASE WHEN ",
                writes_now!(),
                " <= $3 THEN $2 ELSE u.timezone END",
                " RETURNING writes <= $3 AS ok, ",
                retry_after!(),
                ", timezone"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&zone.name(), Type::TEXT),
                (&limits.writes_per_minute, Type::INT4),
            ],
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("a settings write returned no row")))?;
    if !row.get::<_, bool>(0) {
        let secs: i32 = row.get(1);
        return Ok(ProfileWritten::RateLimited {
            retry_after_secs: secs.max(1) as u64,
        });
    }
    Ok(ProfileWritten::Profile(profile(user, row.get(2))))
}

/// Most list names a chat turn's context carries.
pub const CONTEXT_LISTS: i64 = 50;

/// What a chat turn tells the model about the user besides their words: the zone their dates are
/// read in and the names of their lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserContext {
    pub zone: Zone,
    /// The user's own lists by name (not the Inbox), at most [`CONTEXT_LISTS`].
    pub lists: Vec<String>,
}

/// The user's [`UserContext`] in one statement; defaults for a user who has never written.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn get_context(client: &impl Executor, user: &UserId) -> Result<UserContext, DbError> {
    let rows = client
        .query_typed(
            concat!(
                "SELECT (SELECT timezone FROM users WHERE user_id = $1),",
                " ARRAY(SELECT name FROM lists WHERE user_id = $1 ORDER BY key LIMIT $2)"
            ),
            &[(&user.as_str(), Type::TEXT), (&CONTEXT_LISTS, Type::INT8)],
        )
        .await?;
    let row = rows
        .first()
        .ok_or_else(|| DbError::Query(anyhow::anyhow!("the context read returned no row")))?;
    let timezone: Option<&str> = row.get(0);
    Ok(UserContext {
        zone: profile(user, timezone.unwrap_or("UTC")).timezone,
        lists: row.get(1),
    })
}
