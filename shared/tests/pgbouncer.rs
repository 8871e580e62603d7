//! Behind a real PgBouncer in transaction-pooling mode (scripts/test starts Debian's 1.18 in front
//! of the test cluster and sets `TEST_PGBOUNCER_URL`): a statement prepared through it does not
//! survive to the next transaction, `DB_STATEMENT_CACHE=auto` recognises the pooler by its port and
//! sends statements unnamed, and with `auto` or `off` every tool call stays correct under
//! concurrency, transactions included.

use serde_json::{Value, json};
use smart_todo_shared::config::{Limits, PoolSettings, StatementCache};
use smart_todo_shared::db::{self, DbPool, Executor};
use smart_todo_shared::history::Origin;
use smart_todo_shared::test_support::{TestDb, user};
use smart_todo_shared::tools;

const LIMITS: Limits = Limits::DEFAULT;

/// The pooler's URL for `db`'s database; `None` (skipped) only outside CI.
fn through_pgbouncer(db: &TestDb) -> Option<tokio_postgres::Config> {
    match std::env::var("TEST_PGBOUNCER_URL") {
        Ok(url) => {
            let mut config: tokio_postgres::Config = url.parse().expect("TEST_PGBOUNCER_URL");
            config.dbname(&db.name);
            Some(config)
        }
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true: TEST_PGBOUNCER_URL must be set (scripts/test starts PgBouncer)")
        }
        Err(_) => {
            eprintln!("skipped: TEST_PGBOUNCER_URL is not set (scripts/test sets it)");
            None
        }
    }
}

fn pool(config: tokio_postgres::Config, mode: StatementCache, size: usize) -> DbPool {
    let settings = PoolSettings {
        max_size: size,
        statement_cache: mode,
        ..PoolSettings::LAMBDA
    };
    db::pool_from_pg_config(config, None, settings).expect("pool")
}

async fn call(pool: &DbPool, who: &str, tool: &str, arguments: Value) -> Value {
    let conn = db::client(pool).await.expect("a connection");
    tools::call(&conn, &user(who), &Origin::MCP, &LIMITS, tool, arguments)
        .await
        .unwrap_or_else(|e| panic!("{tool} for {who}: {e}"))
        .to_json()
}

#[tokio::test]
async fn a_statement_prepared_through_the_pooler_is_gone_in_the_next_transaction() {
    let db = TestDb::new().await;
    let Some(config) = through_pgbouncer(&db) else {
        return;
    };
    let mut on = pool(config, StatementCache::On, 2);
    assert!(on.prepares_statements());
    let first = db::client(&on).await.unwrap();
    let second = db::client(&on).await.unwrap();
    // `first` prepares (and runs) a statement on the server connection it is lent for that trip.
    let probe = "SELECT count(*) FROM tasks WHERE user_id = $1";
    let params: [(&(dyn tokio_postgres::types::ToSql + Sync), _); 1] =
        [(&"alice", tokio_postgres::types::Type::TEXT)];
    first.query_typed(probe, &params).await.unwrap();
    // `second` holds that server connection in an open transaction...
    let held = second.pipeline();
    held.query_typed("SELECT pg_backend_pid()", &[])
        .await
        .unwrap();
    // ...so `first` is lent the other one, where its statement was never prepared.
    let err = first
        .query_typed(probe, &params)
        .await
        .expect_err("a prepared statement does not follow the client to another server connection");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME),
        "{err}"
    );
    held.commit().await.unwrap();
    drop((first, held));
    on = pool(through_pgbouncer(&db).unwrap(), StatementCache::Off, 2);
    // The same interleaving with statements sent unnamed works.
    let first = db::client(&on).await.unwrap();
    let second = db::client(&on).await.unwrap();
    first.query_typed(probe, &params).await.unwrap();
    let held = second.pipeline();
    held.query_typed("SELECT pg_backend_pid()", &[])
        .await
        .unwrap();
    first.query_typed(probe, &params).await.unwrap();
    held.commit().await.unwrap();
}

#[tokio::test]
async fn auto_recognises_the_pooler_and_every_call_stays_correct_under_concurrency() {
    let db = TestDb::new().await;
    let Some(config) = through_pgbouncer(&db) else {
        return;
    };
    let recognised = config.get_ports() == [6432];
    if recognised {
        let auto = pool(config.clone(), StatementCache::Auto, 8);
        assert!(
            !auto.prepares_statements(),
            "auto sends statements unnamed behind a pooler on port 6432"
        );
    } else {
        eprintln!("PgBouncer is not on 6432: auto cannot recognise it; checking off only");
    }
    let modes = if recognised {
        vec![StatementCache::Auto, StatementCache::Off]
    } else {
        vec![StatementCache::Off]
    };
    for mode in modes {
        // Eight clients on the app's side, two server connections behind the pooler.
        let pool = pool(config.clone(), mode, 8);
        let workers = (0..8).map(|w| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let who = format!("{mode:?}-worker-{w}");
                for i in 0..20 {
                    let added = call(
                        &pool,
                        &who,
                        "add_task",
                        json!({"title": format!("task {i}")}),
                    )
                    .await;
                    let id = added["task_id"].as_i64().expect("a task id");
                    call(
                        &pool,
                        &who,
                        "update_task",
                        json!({"task_id": id, "title": format!("renamed {i}")}),
                    )
                    .await;
                    call(&pool, &who, "complete_task", json!({"task_id": id})).await;
                    if i % 2 == 1 {
                        call(&pool, &who, "delete_task", json!({"task_id": id})).await;
                    }
                    // A tool inside a transaction, as a chat turn runs it with its record.
                    let tx = db::client(&pool).await.unwrap().pipeline();
                    tools::call(
                        &tx,
                        &user(&who),
                        &Origin::MCP,
                        &LIMITS,
                        "add_task",
                        json!({"title": format!("in a transaction {i}")}),
                    )
                    .await
                    .unwrap();
                    tx.commit().await.unwrap();
                }
                let listed = call(&pool, &who, "list_tasks", json!({})).await;
                let tasks = listed["tasks"].as_array().expect("tasks").clone();
                (who, tasks)
            })
        });
        for worker in workers {
            let (who, tasks) = worker.await.expect("a worker");
            assert_eq!(
                tasks.len(),
                30,
                "{who}: ten kept, twenty added in transactions"
            );
            let renamed_done = tasks
                .iter()
                .filter(|t| {
                    t["completed"] == true && t["title"].as_str().unwrap().starts_with("renamed ")
                })
                .count();
            assert_eq!(renamed_done, 10, "{who}: {tasks:?}");
        }
    }
}
