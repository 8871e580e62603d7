//! Every list statement is served by an index in its own order: checked with `EXPLAIN` on a table
//! where one user holds most of the rows (the layout that made PostgreSQL walk the primary key and
//! filter by user), under both the custom plans of unnamed statements and the generic plans a
//! statement cache gets.

use serde_json::Value;
use smart_todo_shared::domain::{SortOrder, StatusFilter};
use smart_todo_shared::repo;
use smart_todo_shared::test_support::TestDb;

/// The plan's nodes, depth first.
fn nodes(plan: &Value) -> Vec<&Value> {
    let mut out = vec![plan];
    if let Some(children) = plan["Plans"].as_array() {
        for child in children {
            out.extend(nodes(child));
        }
    }
    out
}

/// `EXPLAIN (ANALYZE, FORMAT JSON)` of `sql` with these parameter types and values, in `mode`
/// (`force_custom_plan` or `force_generic_plan`).
async fn explain(
    client: &tokio_postgres::Client,
    mode: &str,
    sql: &str,
    types: &str,
    values: &str,
) -> Value {
    client
        .batch_execute(&format!(
            "SET plan_cache_mode = {mode}; DEALLOCATE ALL; PREPARE p ({types}) AS {sql}"
        ))
        .await
        .unwrap_or_else(|e| panic!("PREPARE {sql}: {e}"));
    let row = client
        .query_one(
            &format!("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE p ({values})"),
            &[],
        )
        .await
        .unwrap();
    let text: Value = row.get(0);
    text[0]["Plan"].clone()
}

/// Asserts the plan reads `table` through one of `indexes` with the user (or conversation) in
/// the index condition, and sorts nothing.
fn assert_served_by(plan: &Value, table: &str, indexes: &[&str], key: &str, what: &str) {
    let all = nodes(plan);
    for node in &all {
        let kind = node["Node Type"].as_str().unwrap_or_default();
        assert!(
            !kind.contains("Sort"),
            "{what}: the plan sorts ({kind}):\n{plan:#}"
        );
        assert!(
            !(kind == "Seq Scan" && node["Relation Name"] == table),
            "{what}: a sequential scan of {table}:\n{plan:#}"
        );
    }
    let scan = all
        .iter()
        .find(|n| {
            n["Relation Name"] == table
                && n["Index Cond"]
                    .as_str()
                    .is_some_and(|cond| cond.contains(key))
        })
        .unwrap_or_else(|| panic!("{what}: no index scan of {table} on {key}:\n{plan:#}"));
    let index = scan["Index Name"].as_str().unwrap_or_default();
    assert!(
        indexes.contains(&index),
        "{what}: served by {index}, not {indexes:?}:\n{plan:#}"
    );
}

#[tokio::test]
async fn every_list_statement_reads_an_index_in_its_order() {
    let db = TestDb::new().await;
    let client = db.raw_client().await;
    // One user holds most rows, after 12,500 of other users' (the benchmark's layout: walking the
    // primary key from the start discards all of those for one page), and a few more at the end.
    client
        .batch_execute(
            "INSERT INTO tasks (user_id, id, title) SELECT 'other-' || (g % 5), g, 'early ' || g \
               FROM generate_series(1, 12500) g; \
             INSERT INTO tasks (user_id, id, title, completed, completed_at) \
               SELECT 'big', g, 'task ' || g, g % 10 = 0, CASE WHEN g % 10 = 0 THEN now() END \
               FROM generate_series(1, 60000) g; \
             INSERT INTO tasks (user_id, id, title) \
               SELECT 'other-' || (g % 5), 12500 + g, 'late ' || g \
               FROM generate_series(1, 2000) g; \
             INSERT INTO conversations (id, user_id, title) \
               SELECT gen_random_uuid(), CASE WHEN g % 50 = 0 THEN 'other' ELSE 'big' END, 'c' \
               FROM generate_series(1, 20000) g; \
             INSERT INTO conversations (id, user_id, title) \
               VALUES ('00000000-0000-0000-0000-0000000000aa', 'big', 'long'); \
             INSERT INTO messages (id, conversation_id, user_id, role, content, seq) \
               SELECT gen_random_uuid(), c.id, 'big', CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END, \
                      'message ' || g, g \
               FROM (SELECT id FROM conversations WHERE user_id = 'big' LIMIT 200) c, \
                    generate_series(1, 100) g; \
             INSERT INTO messages (id, conversation_id, user_id, role, content, seq) \
               SELECT gen_random_uuid(), '00000000-0000-0000-0000-0000000000aa', 'big', 'user', 'm', g \
               FROM generate_series(1, 20000) g; \
             ANALYZE tasks; ANALYZE conversations; ANALYZE messages;",
        )
        .await
        .unwrap();
    let tasks = ["tasks_pkey", "tasks_user_completed_idx"];
    for mode in ["force_custom_plan", "force_generic_plan"] {
        for status in [
            StatusFilter::All,
            StatusFilter::Pending,
            StatusFilter::Completed,
        ] {
            for text in [false, true] {
                let sql = repo::list_statement(status, text);
                let (types, values) = if text {
                    ("text, bigint, bigint, text", "'big', 0, 51, 'task'")
                } else {
                    ("text, bigint, bigint", "'big', 0, 51")
                };
                let plan = explain(&client, mode, sql, types, values).await;
                let what = format!("{mode} tasks {status:?} text={text}");
                assert_served_by(&plan, "tasks", &tasks, "user_id", &what);
                if !text {
                    let removed: u64 = nodes(&plan)
                        .iter()
                        .filter_map(|n| n["Rows Removed by Filter"].as_u64())
                        .sum();
                    assert_eq!(removed, 0, "{what}: rows read and thrown away:\n{plan:#}");
                }
            }
        }
        for order in [SortOrder::Asc, SortOrder::Desc] {
            for after in [false, true] {
                let sql = repo::conversations_statement(order, after);
                let (types, values) = if after {
                    ("text, bigint, uuid", "'big', 21, gen_random_uuid()")
                } else {
                    ("text, bigint", "'big', 21")
                };
                let plan = explain(&client, mode, sql, types, values).await;
                assert_served_by(
                    &plan,
                    "conversations",
                    &["conversations_user_created_idx"],
                    "user_id",
                    &format!("{mode} conversations {order:?} after={after}"),
                );
                let sql = repo::visible_messages_statement(order, after);
                let (types, values) = if after {
                    (
                        "uuid, text, bigint, uuid",
                        "'00000000-0000-0000-0000-0000000000aa', 'big', 21, gen_random_uuid()",
                    )
                } else {
                    (
                        "uuid, text, bigint",
                        "'00000000-0000-0000-0000-0000000000aa', 'big', 21",
                    )
                };
                let plan = explain(&client, mode, sql, types, values).await;
                assert_served_by(
                    &plan,
                    "messages",
                    &["messages_conversation_seq_idx"],
                    "conversation_id",
                    &format!("{mode} messages {order:?} after={after}"),
                );
            }
        }
        let plan = explain(
            &client,
            mode,
            repo::RECENT_MESSAGES,
            "uuid, text, bigint",
            "'00000000-0000-0000-0000-0000000000aa', 'big', 40",
        )
        .await;
        // The outer ORDER BY re-sorts at most the page; the inner read must not sort.
        let inner = nodes(&plan)
            .into_iter()
            .find(|n| n["Node Type"] == "Limit")
            .expect("a Limit node")
            .clone();
        assert_served_by(
            &inner,
            "messages",
            &["messages_conversation_seq_idx"],
            "conversation_id",
            &format!("{mode} recent messages"),
        );
    }
}
