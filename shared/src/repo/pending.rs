//! Changes to several tasks waiting for a yes (migration V11).

use tokio_postgres::types::Type;
use tracing::instrument;

use crate::db::{DbError, Executor};
use crate::domain::{ConversationId, TurnId, UserId};

/// A stored question: what it would do to which tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: i64,
    pub action: String,
    pub task_ids: Vec<i64>,
}

/// Stores what `turn` asks to do, in place of any question its conversation had open. `None` when
/// the turn is not the user's.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn propose(
    db: &impl Executor,
    user: &UserId,
    turn: TurnId,
    action: &str,
    task_ids: &[i64],
) -> Result<Option<i64>, DbError> {
    db.query_typed(
        concat!(
            "UPDATE pending_actions SET state = 'expired' WHERE user_id = $1 AND state = 'open'",
            " AND conversation_id = (SELECT conversation_id FROM turns WHERE id = $2 AND user_id = $1)"
        ),
        &[(&user.as_str(), Type::TEXT), (&turn.0, Type::UUID)],
    )
    .await?;
    let ids = task_ids.to_vec();
    let rows = db
        .query_typed(
            concat!(
                "INSERT INTO pending_actions (user_id, conversation_id, turn_id, action, task_ids)",
                " SELECT $1, conversation_id, $2, $3, $4 FROM turns WHERE id = $2 AND user_id = $1",
                " RETURNING id"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&turn.0, Type::UUID),
                (&action, Type::TEXT),
                (&ids, Type::INT8_ARRAY),
            ],
        )
        .await?;
    Ok(rows.first().map(|r| r.get(0)))
}

/// The question `turn` answers: the one its conversation's previous turn asked and nothing has
/// answered yet. A question with another message after it has expired, and is marked so. Locks it
/// until the caller's transaction ends, so two answers cannot both carry it out.
#[instrument(skip_all, fields(user_id = %user))]
pub async fn open_question(
    db: &impl Executor,
    user: &UserId,
    turn: TurnId,
) -> Result<Option<Pending>, DbError> {
    let rows = db
        .query_typed(
            concat!(
                "SELECT p.id, p.action, p.task_ids,",
                " EXISTS (SELECT 1 FROM turns o, turns asked WHERE asked.id = p.turn_id",
                "   AND o.conversation_id = p.conversation_id AND o.id <> p.turn_id AND o.id <> $2",
                "   AND o.started_at > asked.started_at) AS stale",
                " FROM pending_actions p JOIN turns t ON t.id = $2 AND t.user_id = $1",
                "  AND t.conversation_id = p.conversation_id",
                " WHERE p.user_id = $1 AND p.state = 'open' AND p.turn_id <> $2",
                " FOR UPDATE OF p"
            ),
            &[(&user.as_str(), Type::TEXT), (&turn.0, Type::UUID)],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let id: i64 = row.get(0);
    if row.get::<_, bool>(3) {
        resolve(db, id, "expired", turn).await?;
        return Ok(None);
    }
    Ok(Some(Pending {
        id,
        action: row.get(1),
        task_ids: row.get(2),
    }))
}

/// Marks a question answered (`done`, `cancelled`) or `expired`, by `turn`.
pub async fn resolve(
    db: &impl Executor,
    id: i64,
    state: &str,
    turn: TurnId,
) -> Result<(), DbError> {
    db.query_typed(
        "UPDATE pending_actions SET state = $2, resolved_turn = $3 WHERE id = $1",
        &[
            (&id, Type::INT8),
            (&state, Type::TEXT),
            (&turn.0, Type::UUID),
        ],
    )
    .await?;
    Ok(())
}

/// A question as its conversation shows it: what it asks, of how many tasks, and how it stands
/// (`open`, `done`, `cancelled`, `expired`; an open one with a later message counts as expired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub turn: TurnId,
    pub action: String,
    pub count: i64,
    pub state: String,
    /// When the turn's reply was stored (the question is shown with it); `None` before it is.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The questions the given turns of one of `user`'s conversations asked (a turn that asked twice
/// shows its last question).
#[instrument(skip_all, fields(user_id = %user))]
pub async fn questions(
    db: &impl Executor,
    user: &UserId,
    conversation: ConversationId,
    turns: &[TurnId],
) -> Result<Vec<Question>, DbError> {
    let turns: Vec<uuid::Uuid> = turns.iter().map(|t| t.0).collect();
    let rows = db
        .query_typed(
            concat!(
                "SELECT DISTINCT ON (p.turn_id) p.turn_id, p.action, cardinality(p.task_ids)::int8,",
                " CASE WHEN p.state = 'open' AND EXISTS (SELECT 1 FROM turns o, turns asked",
                "   WHERE asked.id = p.turn_id AND o.conversation_id = p.conversation_id",
                "   AND o.id <> p.turn_id AND o.started_at > asked.started_at)",
                "  THEN 'expired' ELSE p.state END,",
                " (SELECT max(m.created_at) FROM messages m WHERE m.turn_id = p.turn_id",
                "   AND m.role = 'assistant' AND m.tool_calls IS NULL)",
                " FROM pending_actions p",
                " WHERE p.user_id = $1 AND p.conversation_id = $2 AND p.turn_id = ANY($3)",
                " ORDER BY p.turn_id, p.id DESC"
            ),
            &[
                (&user.as_str(), Type::TEXT),
                (&conversation.0, Type::UUID),
                (&turns, Type::UUID_ARRAY),
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Question {
            turn: TurnId(r.get(0)),
            action: r.get(1),
            count: r.get(2),
            state: r.get(3),
            at: r.get(4),
        })
        .collect())
}
