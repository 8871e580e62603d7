//! Pipelined transactions (`db::Client::pipeline`) against a real PostgreSQL, through a proxy that
//! counts round trips: statements awaited together travel in one trip, run in the order listed,
//! a failed guard (`smart_todo_require`) aborts the lot, and a pipeline dropped before its COMMIT
//! rolls back before its connection serves anyone else.

use smart_todo_shared::config::{PoolSettings, StatementCache};
use smart_todo_shared::db::{self, DbError, DbPool, Executor};
use smart_todo_shared::test_support::{TestDb, TripCounter};
use tokio_postgres::types::Type;

async fn setup(trips: &TripCounter) -> (TestDb, DbPool) {
    let db = TestDb::new().await;
    let client = db.raw_client().await;
    client
        .batch_execute("CREATE TABLE notes (n int PRIMARY KEY)")
        .await
        .unwrap();
    let settings = PoolSettings {
        max_size: 1,
        // On, to show a pipeline keeps its order even where single statements are prepared.
        statement_cache: StatementCache::On,
        ..PoolSettings::LAMBDA
    };
    let pool = db.pool_through(trips, settings);
    // Open the connection: connecting is not what is counted.
    db::ping(&pool).await.unwrap();
    (db, pool)
}

async fn insert(db: &impl Executor, n: i32) -> Result<(), DbError> {
    db.query_typed("INSERT INTO notes (n) VALUES ($1)", &[(&n, Type::INT4)])
        .await?;
    Ok(())
}

async fn require(db: &impl Executor, ok: bool) -> Result<(), DbError> {
    db.query_typed(
        "SELECT smart_todo_require($1, 'the test said no')",
        &[(&ok, Type::BOOL)],
    )
    .await?;
    Ok(())
}

async fn notes(db: &TestDb) -> Vec<i32> {
    let client = db.raw_client().await;
    let rows = client
        .query("SELECT n FROM notes ORDER BY n", &[])
        .await
        .unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

#[tokio::test]
async fn statements_awaited_together_are_one_round_trip_with_begin_and_commit() {
    let trips = TripCounter::start().await;
    let (db, pool) = setup(&trips).await;
    let before = trips.count();
    let tx = db::client(&pool).await.unwrap().pipeline();
    tokio::try_join!(
        biased;
        insert(&tx, 1),
        insert(&tx, 2),
        // Runs after both inserts: it sees them.
        async {
            let rows = tx.query_typed("SELECT count(*) FROM notes", &[]).await?;
            assert_eq!(rows[0].get::<_, i64>(0), 2);
            Ok(())
        },
        async { tx.commit().await.map_err(DbError::from) },
    )
    .unwrap();
    assert_eq!(trips.count() - before, 1, "BEGIN, three statements, COMMIT");
    drop(tx);
    assert_eq!(notes(&db).await, [1, 2]);
}

#[tokio::test]
async fn a_failed_guard_aborts_everything_sent_with_it() {
    let trips = TripCounter::start().await;
    let (db, pool) = setup(&trips).await;
    let tx = db::client(&pool).await.unwrap().pipeline();
    let outcome = tokio::try_join!(
        biased;
        insert(&tx, 1),
        require(&tx, false),
        insert(&tx, 2),
        async { tx.commit().await.map_err(DbError::from) },
    );
    match outcome {
        Err(DbError::Precondition(what)) => assert_eq!(what, "the test said no"),
        other => panic!("the guard's own error comes first, got {other:?}"),
    }
    drop(tx);
    assert!(notes(&db).await.is_empty(), "nothing committed");
    // The connection is usable, outside any transaction.
    let conn = db::client(&pool).await.unwrap();
    insert(&conn, 3).await.unwrap();
    assert_eq!(notes(&db).await, [3]);
}

#[tokio::test]
async fn a_pipeline_dropped_before_its_commit_is_rolled_back_before_reuse() {
    let trips = TripCounter::start().await;
    let (db, pool) = setup(&trips).await;
    let tx = db::client(&pool).await.unwrap().pipeline();
    insert(&tx, 1).await.unwrap();
    // A refusal decided in Rust after the first trip: the caller just returns.
    drop(tx);
    // The pool's only connection is handed out again after the rollback, not inside it.
    let conn = db::client(&pool).await.unwrap();
    let rows = conn
        .query_typed("SELECT count(*) FROM notes", &[])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 0);
    insert(&conn, 2).await.unwrap();
    drop(conn);
    assert_eq!(
        notes(&db).await,
        [2],
        "the second insert committed on its own"
    );
}
