//! Every list statement is served by an index in its own order: checked with `EXPLAIN` on a table
//! where one user holds most of the rows (the layout that made PostgreSQL walk the primary key and
//! filter by user), under both the custom plans of unnamed statements and the generic plans a
//! statement cache gets.

use serde_json::Value;
use smart_todo_shared::domain::{
    ListName, Order, PageLimit, Priority, Sort, SortOrder, StatusFilter, Tag, TaskQuery, UserId,
    View,
};
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
    for mode in ["force_custom_plan", "force_generic_plan"] {
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

/// `EXPLAIN (ANALYZE, FORMAT JSON)` of one listing as the server sends it (unnamed, so planned
/// with its values).
async fn explain_listing(client: &tokio_postgres::Client, query: &TaskQuery) -> Value {
    let user = UserId::parse("big").unwrap();
    let sql = repo::list_sql(&user, query, false);
    let rows = client
        .query_typed(
            &format!("EXPLAIN (ANALYZE, FORMAT JSON) {}", sql.text),
            &sql.params(),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", sql.text));
    let plan: Value = rows[0].get(0);
    plan[0]["Plan"].clone()
}

#[tokio::test]
async fn listings_read_an_index_in_their_order() {
    let db = TestDb::new().await;
    let client = db.raw_client().await;
    // One user with 60,000 tasks: dated over two years (a third without a date), a tenth done,
    // priorities and a few lists; other users' tasks before and after.
    client
        .batch_execute(
            "INSERT INTO tasks (user_id, id, title) SELECT 'other-' || (g % 5), g, 'early ' || g \
               FROM generate_series(1, 12500) g; \
             INSERT INTO lists (user_id, name) SELECT 'big', 'list ' || g FROM generate_series(1, 5) g; \
             INSERT INTO tasks (user_id, id, title, completed, completed_at, due_date, due_tz, \
                                priority, list_id, tags) \
               SELECT 'big', g, 'task ' || g, g % 10 = 0, CASE WHEN g % 10 = 0 THEN now() END, \
                      CASE WHEN g % 3 <> 0 THEN current_date - 365 + (g % 730) END, \
                      CASE WHEN g % 3 <> 0 THEN 'UTC' END, g % 4, \
                      CASE WHEN g % 7 < 5 THEN (SELECT min(id) FROM lists WHERE user_id = 'big') + g % 7 END, \
                      CASE WHEN g % 50 = 0 THEN '{errands}'::text[] ELSE '{}' END \
               FROM generate_series(1, 60000) g; \
             INSERT INTO tasks (user_id, id, title) \
               SELECT 'other-' || (g % 5), 12500 + g, 'late ' || g FROM generate_series(1, 2000) g; \
             ANALYZE tasks; ANALYZE lists;",
        )
        .await
        .unwrap();
    let pending = |view: View, sort: Sort| TaskQuery {
        status: StatusFilter::Pending,
        view,
        sort,
        order: sort.default_order(),
        limit: PageLimit::new(50).unwrap(),
        ..TaskQuery::default()
    };
    // The first page of each view and sort a person opens: an index in order, no sort of the
    // matches, nothing read and thrown away beyond the page.
    let mut cases = vec![
        ("all tasks", TaskQuery::default()),
        (
            "all tasks, newest first",
            TaskQuery {
                order: Order::Desc,
                ..TaskQuery::default()
            },
        ),
    ];
    for view in [
        View::All,
        View::Today,
        View::Overdue,
        View::Upcoming,
        View::NoDate,
    ] {
        cases.push(("pending by due", pending(view, Sort::Due)));
    }
    for sort in [Sort::Created, Sort::Priority] {
        cases.push(("pending, sorted", pending(View::All, sort)));
    }
    for sort in [Sort::Updated, Sort::Title, Sort::Due] {
        cases.push((
            "all, sorted",
            TaskQuery {
                sort,
                order: sort.default_order(),
                ..TaskQuery::default()
            },
        ));
    }
    cases.push((
        "a list",
        TaskQuery {
            list: Some(ListName::parse("list 2").unwrap()),
            ..pending(View::All, Sort::Created)
        },
    ));
    cases.push((
        "the Inbox",
        TaskQuery {
            list: Some(ListName::parse("Inbox").unwrap()),
            ..pending(View::All, Sort::Created)
        },
    ));
    let indexes = [
        "tasks_pkey",
        "tasks_user_completed_idx",
        "tasks_user_due_idx",
        "tasks_user_due_all_idx",
        "tasks_user_list_idx",
        "tasks_user_priority_idx",
        "tasks_user_updated_idx",
        "tasks_user_title_idx",
    ];
    for (what, query) in &cases {
        let plan = explain_listing(&client, query).await;
        let what = format!("{what} {:?} {:?} {:?}", query.view, query.sort, query.order);
        assert_served_by(&plan, "tasks", &indexes, "user_id", &what);
    }
    // Every shape runs, with and without a cursor: each view, sort, order and filter.
    let sorts = [
        Sort::Due,
        Sort::Priority,
        Sort::Created,
        Sort::Updated,
        Sort::Title,
        Sort::Relevance,
    ];
    for sort in sorts {
        for order in [Order::Asc, Order::Desc] {
            for view in [
                View::All,
                View::Today,
                View::Overdue,
                View::Upcoming,
                View::NoDate,
            ] {
                let query = TaskQuery {
                    view,
                    sort,
                    order,
                    text: Some("task 1".into()),
                    tag: Some(Tag::parse("errands").unwrap()),
                    priority: Some(Priority::High),
                    list: Some(ListName::parse("list 3").unwrap()),
                    due_before: chrono::NaiveDate::from_ymd_opt(2030, 1, 1),
                    due_after: chrono::NaiveDate::from_ymd_opt(2000, 1, 1),
                    ..TaskQuery::default()
                };
                explain_listing(&client, &query).await;
            }
        }
    }
}

#[tokio::test]
async fn the_views_and_counts_run_under_a_parallel_plan() {
    // A parallel plan may not start the subtransaction of smart_todo_today's exception block;
    // with parallel plans made free, PostgreSQL says so if a statement could get one (100,000
    // rows did).
    let db = TestDb::new().await;
    let client = db.raw_client().await;
    client
        .batch_execute(
            "INSERT INTO tasks (user_id, id, title, due_date, due_tz) \
               SELECT 'big', g, 'task ' || g, current_date - 10 + g % 20, 'UTC' \
               FROM generate_series(1, 5000) g; \
             ANALYZE tasks; \
             SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; \
             SET min_parallel_table_scan_size = 0; SET min_parallel_index_scan_size = 0;",
        )
        .await
        .unwrap();
    let alice = UserId::parse("big").unwrap();
    for view in [View::Today, View::Overdue, View::Upcoming] {
        let query = TaskQuery {
            view,
            ..TaskQuery::default()
        };
        let sql = repo::list_sql(&alice, &query, true);
        client
            .query_typed(&sql.text, &sql.params())
            .await
            .unwrap_or_else(|e| panic!("{view:?}: {e}"));
    }
    repo::count_tasks(&client, &alice).await.unwrap();
}
