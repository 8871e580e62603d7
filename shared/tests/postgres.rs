//! The shared crate against a real PostgreSQL: migrations, TLS, and every catalog tool, with a
//! fresh database per test.

use smart_todo_shared::history::Origin;
use std::collections::HashMap;

use secrecy::SecretString;
use serde_json::json;
use smart_todo_shared::config::{Config, DatabaseConfig, PoolSettings};
use smart_todo_shared::test_support::{TestDb, admin_url, user};
use smart_todo_shared::tools::{
    self, AddTaskArgs, CallError, ChangeStatus, ListTasksArgs, TaskRefArgs, ToolError,
    UpdateTaskArgs,
};
use smart_todo_shared::{db, domain::StatusFilter};

/// The default limits, far above what these tests do.
const LIMITS: smart_todo_shared::config::Limits = smart_todo_shared::config::Limits::DEFAULT;

async fn add(db: &TestDb, who: &str, title: &str) -> i64 {
    tools::add_task(
        &*db.conn().await,
        &user(who),
        &Origin::MCP,
        &LIMITS,
        AddTaskArgs {
            title: title.into(),
            description: None,
            due: None,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .task_id
}

async fn titles(db: &TestDb, who: &str, status: StatusFilter) -> Vec<(String, bool)> {
    tools::list_tasks(
        &*db.conn().await,
        &user(who),
        ListTasksArgs {
            status: Some(status),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .tasks
    .into_iter()
    .map(|t| (t.title, t.completed))
    .collect()
}

#[tokio::test]
async fn migrations_apply_twice_without_error() {
    let db = TestDb::new().await; // applied once here
    assert!(
        db::migrate(&db.pool).await.unwrap().is_empty(),
        "nothing left to apply"
    );
    let client = db.raw_client().await;
    for table in ["tasks", "conversations", "messages"] {
        let row = client
            .query_one("SELECT to_regclass($1)::text", &[&table])
            .await
            .unwrap();
        assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some(table));
    }
}

/// V6 moved the per-user task count into `users`; a database that already had tasks must start
/// with every user's real count, or the limit would admit that many tasks more.
#[tokio::test]
async fn the_users_migration_counts_the_tasks_already_there() {
    let db = TestDb::at_version(Some(5)).await;
    let client = db.raw_client().await;
    // Tasks written before V6.
    client
        .batch_execute(
            "INSERT INTO tasks (user_id, title) VALUES ('alice', 'a'), ('alice', 'b'), \
               ('alice', 'c'), ('bob', 'd'); \
             INSERT INTO usage_windows (user_id, kind, window_start, count) \
               VALUES ('alice', 'write', date_trunc('minute', now()), 4)",
        )
        .await
        .unwrap();
    let applied = db::migrate(&db.pool).await.unwrap();
    assert!(applied[0].starts_with("V6"), "{applied:?}");
    let rows = client
        .query("SELECT user_id, tasks FROM users ORDER BY user_id", &[])
        .await
        .unwrap();
    let got: Vec<(String, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [("alice".to_owned(), 3), ("bob".to_owned(), 1)]);
    let left = client
        .query_one(
            "SELECT count(*) FROM usage_windows WHERE kind = 'write'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        left.get::<_, i64>(0),
        0,
        "write windows are counted in users now"
    );
    // A delete of any kind takes the task off the count.
    client
        .batch_execute("DELETE FROM tasks WHERE user_id = 'alice' AND title = 'a'")
        .await
        .unwrap();
    let alice = client
        .query_one("SELECT tasks FROM users WHERE user_id = 'alice'", &[])
        .await
        .unwrap();
    assert_eq!(alice.get::<_, i32>(0), 2);
}

/// A database with data from the first schema migrates to the current one keeping every task,
/// conversation and message, and each user's tasks are numbered 1, 2, 3 … in creation order,
/// with the next create continuing after the highest.
#[tokio::test]
async fn data_from_the_first_schema_survives_every_migration_with_tasks_numbered_per_user() {
    let db = TestDb::at_version(Some(1)).await;
    let client = db.raw_client().await;
    // Interleaved creates of two users (global ids 1..=6), one of alice's later deleted, and a
    // conversation with messages.
    client
        .batch_execute(
            "INSERT INTO tasks (user_id, title) VALUES ('alice', 'a1'), ('bob', 'b1'), \
               ('alice', 'a2'), ('alice', 'a3'), ('bob', 'b2'), ('alice', 'a4'); \
             UPDATE tasks SET completed = true, completed_at = now() WHERE title = 'b2'; \
             DELETE FROM tasks WHERE title = 'a2'; \
             INSERT INTO conversations (id, user_id, title) \
               VALUES ('00000000-0000-0000-0000-000000000001', 'alice', 'groceries'); \
             INSERT INTO messages (id, conversation_id, user_id, role, content) VALUES \
               ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000001', \
                'alice', 'user', 'add milk'), \
               ('00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-000000000001', \
                'alice', 'assistant', 'Added milk.')",
        )
        .await
        .unwrap();
    let applied = db::migrate(&db.pool).await.unwrap();
    assert!(applied.len() >= 6, "{applied:?}");

    let rows = client
        .query(
            "SELECT user_id, id, title, completed FROM tasks ORDER BY user_id, id",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, i64, String, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let want = [
        ("alice", 1, "a1", false),
        ("alice", 2, "a3", false),
        ("alice", 3, "a4", false),
        ("bob", 1, "b1", false),
        ("bob", 2, "b2", true),
    ];
    assert_eq!(
        got,
        want.map(|(u, id, t, c)| (u.to_owned(), id, t.to_owned(), c))
    );
    let messages = client
        .query("SELECT seq, role, content FROM messages ORDER BY seq", &[])
        .await
        .unwrap();
    let messages: Vec<(i64, String, String)> = messages
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        messages,
        [
            (1, "user".to_owned(), "add milk".to_owned()),
            (2, "assistant".to_owned(), "Added milk.".to_owned())
        ]
    );
    let title: String = client
        .query_one("SELECT title FROM conversations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(title, "groceries");

    // The next create continues each user's own numbers.
    for (who, want) in [("alice", 4), ("bob", 3), ("carol", 1)] {
        assert_eq!(add(&db, who, "next").await, want, "{who}");
    }
}

#[tokio::test]
async fn concurrent_migration_runs_do_not_collide() {
    let db = TestDb::new().await;
    let (a, b) = tokio::join!(db::migrate(&db.pool), db::migrate(&db.pool));
    assert!(a.is_ok() && b.is_ok());
}

#[tokio::test]
async fn the_contract_indexes_exist() {
    let db = TestDb::new().await;
    let client = db.raw_client().await;
    let rows = client
        .query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap();
    let defs: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    for wanted in [
        "(user_id, completed",
        "(user_id, updated_at)",
        "(conversation_id, created_at)",
        "(conversation_id, seq)",
        "(conversation_id) WHERE (status = 'running'",
    ] {
        assert!(
            defs.iter().any(|d| d.contains(wanted)),
            "no index on {wanted}: {defs:?}"
        );
    }
}

#[tokio::test]
async fn a_tls_connection_by_hostname_verifies_the_server_certificate() {
    let db = TestDb::new().await;
    let ca = std::env::var("TEST_PG_CA_FILE")
        .expect("TEST_PG_CA_FILE: scripts/test starts PostgreSQL with ssl=on");
    let admin: tokio_postgres::Config = admin_url().parse().unwrap();
    let port = admin.get_ports()[0];
    let url = format!(
        "postgres://postgres@localhost:{port}/{}?sslmode=require",
        db.name
    );
    let config = |ca_file: Option<&str>| DatabaseConfig {
        url: SecretString::from(url.clone()),
        ca_file: ca_file.map(Into::into),
        pool: PoolSettings::LAMBDA,
    };

    let pool = db::connect(&config(Some(&ca))).unwrap();
    let client = db::client(&pool).await.unwrap();
    let row = client
        .query_one(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the connection is not encrypted");
    assert!(
        row.get::<_, String>(1).starts_with("TLS"),
        "{}",
        row.get::<_, String>(1)
    );

    // Without our CA the self-signed chain is not trusted: no silent downgrade to plain text.
    let untrusted = db::connect(&config(None)).unwrap();
    assert!(db::client(&untrusted).await.is_err());
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_not_a_query_error() {
    let config = DatabaseConfig {
        url: SecretString::from(
            "postgres://postgres@127.0.0.1:9/nowhere?sslmode=disable".to_owned(),
        ),
        ca_file: None,
        pool: PoolSettings {
            connect_timeout: std::time::Duration::from_millis(500),
            ..PoolSettings::LAMBDA
        },
    };
    let pool = db::connect(&config).unwrap();
    assert!(matches!(
        db::ping(&pool).await,
        Err(db::DbError::Unavailable(_))
    ));
}

#[tokio::test]
async fn config_is_read_from_a_secrets_manager_secret() {
    let endpoint = std::env::var("MOTO_ENDPOINT_URL")
        .expect("MOTO_ENDPOINT_URL: scripts/test starts moto_server");
    // SAFETY: this test binary sets these variables only here, before any other thread reads them.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", &endpoint);
    }
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = format!("smart-todo-test-{}", uuid::Uuid::new_v4());
    let secret = json!({
        "DATABASE_URL": "postgres://from-secret/db",
        "AUTH_JWT_SECRET": "secret-from-secrets-manager-0123456789",
        "OPENAI_API_KEY": "sk-from-secret"
    });
    let created = client
        .create_secret()
        .name(&name)
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_owned();

    let values = smart_todo_shared::secrets::fetch_app_secret(&arn)
        .await
        .unwrap();
    let env: HashMap<String, String> = [
        ("APP_SECRET_ARN".to_owned(), arn.clone()),
        (
            "DATABASE_URL".to_owned(),
            "postgres://from-env/db".to_owned(),
        ),
    ]
    .into();
    let config = Config::from_sources(&env, &values, PoolSettings::LAMBDA).unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(
        config.database.url.expose_secret(),
        "postgres://from-env/db",
        "a variable set directly wins"
    );
    assert_eq!(
        config.auth.jwt_secret.unwrap().expose_secret(),
        "secret-from-secrets-manager-0123456789"
    );
    let sources = smart_todo_shared::config::Sources::from_maps(env, values);
    assert_eq!(
        sources.secret("OPENAI_API_KEY").unwrap().expose_secret(),
        "sk-from-secret"
    );

    let missing = smart_todo_shared::secrets::fetch_app_secret(&format!("{arn}-missing")).await;
    assert!(missing.is_err());
}

#[tokio::test]
async fn add_task_creates_and_trims() {
    let db = TestDb::new().await;
    let change = tools::add_task(
        &*db.conn().await,
        &user("alice"),
        &Origin::MCP,
        &LIMITS,
        AddTaskArgs {
            title: "  Buy groceries ".into(),
            description: Some("milk, eggs".into()),
            due: None,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(change.status, ChangeStatus::Created);
    assert_eq!(change.title, "Buy groceries");
    let task = tools::get_task(
        &*db.conn().await,
        &user("alice"),
        TaskRefArgs {
            task_id: change.task_id,
        },
    )
    .await
    .unwrap();
    assert_eq!(task.description.as_deref(), Some("milk, eggs"));
    assert!(!task.completed);
}

#[tokio::test]
async fn add_task_refuses_an_empty_title_and_stores_nothing() {
    let db = TestDb::new().await;
    let err = tools::add_task(
        &*db.conn().await,
        &user("alice"),
        &Origin::MCP,
        &LIMITS,
        AddTaskArgs {
            title: "   ".into(),
            description: None,
            due: None,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ToolError::Invalid { field: "title", .. }),
        "{err}"
    );
    assert!(titles(&db, "alice", StatusFilter::All).await.is_empty());
}

#[tokio::test]
async fn list_tasks_filters_by_status_and_user() {
    let db = TestDb::new().await;
    let a = add(&db, "alice", "one").await;
    add(&db, "alice", "two").await;
    add(&db, "bob", "bob's").await;
    tools::complete_task(
        &*db.conn().await,
        &user("alice"),
        &Origin::MCP,
        &LIMITS,
        TaskRefArgs { task_id: a },
    )
    .await
    .unwrap();
    assert_eq!(
        titles(&db, "alice", StatusFilter::All).await,
        [("one".into(), true), ("two".into(), false)]
    );
    assert_eq!(
        titles(&db, "alice", StatusFilter::Pending).await,
        [("two".into(), false)]
    );
    assert_eq!(
        titles(&db, "alice", StatusFilter::Completed).await,
        [("one".into(), true)]
    );
    assert_eq!(
        titles(&db, "bob", StatusFilter::All).await,
        [("bob's".into(), false)]
    );
}

#[tokio::test]
async fn complete_is_idempotent_and_reopen_clears_completion() {
    let db = TestDb::new().await;
    let id = add(&db, "alice", "pay bills").await;
    let alice = user("alice");
    let first = tools::complete_task(
        &*db.conn().await,
        &alice,
        &Origin::MCP,
        &LIMITS,
        TaskRefArgs { task_id: id },
    )
    .await
    .unwrap();
    assert_eq!(first.status, ChangeStatus::Completed);
    let at = tools::get_task(&*db.conn().await, &alice, TaskRefArgs { task_id: id })
        .await
        .unwrap()
        .completed_at;
    tools::complete_task(
        &*db.conn().await,
        &alice,
        &Origin::MCP,
        &LIMITS,
        TaskRefArgs { task_id: id },
    )
    .await
    .unwrap();
    let again = tools::get_task(&*db.conn().await, &alice, TaskRefArgs { task_id: id })
        .await
        .unwrap();
    assert_eq!(
        again.completed_at, at,
        "completing twice keeps the first completion time"
    );
    let reopened = tools::reopen_task(
        &*db.conn().await,
        &alice,
        &Origin::MCP,
        &LIMITS,
        TaskRefArgs { task_id: id },
    )
    .await
    .unwrap();
    assert_eq!(reopened.status, ChangeStatus::Reopened);
    let task = tools::get_task(&*db.conn().await, &alice, TaskRefArgs { task_id: id })
        .await
        .unwrap();
    assert!(!task.completed && task.completed_at.is_none());
}

#[tokio::test]
async fn update_task_changes_title_and_description() {
    let db = TestDb::new().await;
    let id = add(&db, "alice", "Call mom").await;
    let alice = user("alice");
    let change = tools::update_task(
        &*db.conn().await,
        &alice,
        &Origin::MCP,
        &LIMITS,
        UpdateTaskArgs {
            task_id: id,
            title: Some("Call mom tonight".into()),
            description: Some(Some("after 7".into())),
            due: None,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (change.status, change.title.as_str()),
        (ChangeStatus::Updated, "Call mom tonight")
    );
    let cleared = UpdateTaskArgs {
        task_id: id,
        title: None,
        description: Some(Some("".into())),
        due: None,
        ..Default::default()
    };
    tools::update_task(&*db.conn().await, &alice, &Origin::MCP, &LIMITS, cleared)
        .await
        .unwrap();
    let task = tools::get_task(&*db.conn().await, &alice, TaskRefArgs { task_id: id })
        .await
        .unwrap();
    assert_eq!(
        (task.title.as_str(), task.description),
        ("Call mom tonight", None)
    );
    let nothing = UpdateTaskArgs {
        task_id: id,
        title: None,
        description: None,
        due: None,
        ..Default::default()
    };
    assert!(matches!(
        tools::update_task(&*db.conn().await, &alice, &Origin::MCP, &LIMITS, nothing).await,
        Err(ToolError::Invalid { .. })
    ));
}

#[tokio::test]
async fn delete_task_removes_it() {
    let db = TestDb::new().await;
    let id = add(&db, "alice", "meeting").await;
    let change = tools::delete_task(
        &*db.conn().await,
        &user("alice"),
        &Origin::MCP,
        &LIMITS,
        TaskRefArgs { task_id: id },
    )
    .await
    .unwrap();
    assert_eq!(
        (change.status, change.title.as_str()),
        (ChangeStatus::Deleted, "meeting")
    );
    let again = tools::delete_task(
        &*db.conn().await,
        &user("alice"),
        &Origin::MCP,
        &LIMITS,
        TaskRefArgs { task_id: id },
    )
    .await;
    assert!(matches!(again, Err(ToolError::NotFound(n)) if n == id));
}

#[tokio::test]
async fn every_tool_treats_another_users_task_as_not_found_and_changes_nothing() {
    let db = TestDb::new().await;
    let id = add(&db, "alice", "alice's secret").await;
    let bob = user("bob");
    let by_id = || TaskRefArgs { task_id: id };
    let conn = db.conn().await;
    let results = [
        tools::get_task(&conn, &bob, by_id()).await.err(),
        tools::complete_task(&conn, &bob, &Origin::MCP, &LIMITS, by_id())
            .await
            .err(),
        tools::reopen_task(&conn, &bob, &Origin::MCP, &LIMITS, by_id())
            .await
            .err(),
        tools::delete_task(&conn, &bob, &Origin::MCP, &LIMITS, by_id())
            .await
            .err(),
        tools::update_task(
            &conn,
            &bob,
            &Origin::MCP,
            &LIMITS,
            UpdateTaskArgs {
                task_id: id,
                title: Some("pwned".into()),
                description: None,
                due: None,
                ..Default::default()
            },
        )
        .await
        .err(),
    ];
    for err in results {
        assert!(
            matches!(err, Some(ToolError::NotFound(n)) if n == id),
            "{err:?}"
        );
    }
    assert!(titles(&db, "bob", StatusFilter::All).await.is_empty());
    assert_eq!(
        titles(&db, "alice", StatusFilter::All).await,
        [("alice's secret".into(), false)]
    );
}

#[tokio::test]
async fn a_missing_or_impossible_task_id_is_not_found() {
    let db = TestDb::new().await;
    for id in [0, -5, 999_999, i64::MAX] {
        let err = tools::complete_task(
            &*db.conn().await,
            &user("alice"),
            &Origin::MCP,
            &LIMITS,
            TaskRefArgs { task_id: id },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, ToolError::NotFound(n) if n == id),
            "{id}: {err}"
        );
    }
}

#[tokio::test]
async fn dynamic_calls_run_the_same_tools_and_refuse_bad_arguments() {
    let db = TestDb::new().await;
    let alice = user("alice");
    let created = tools::call(
        &*db.conn().await,
        &alice,
        &Origin::MCP,
        &LIMITS,
        "add_task",
        json!({"title": "Buy groceries"}),
    )
    .await
    .unwrap()
    .to_json();
    assert_eq!(created["status"], "created");
    let id = created["task_id"].as_i64().unwrap();
    let listed = tools::call(
        &*db.conn().await,
        &alice,
        &Origin::MCP,
        &LIMITS,
        "list_tasks",
        json!({"status": "pending"}),
    )
    .await
    .unwrap()
    .to_json();
    assert_eq!(listed["tasks"][0]["id"], id);
    let listed_null = tools::call(
        &*db.conn().await,
        &alice,
        &Origin::MCP,
        &LIMITS,
        "list_tasks",
        serde_json::Value::Null,
    )
    .await
    .unwrap()
    .to_json();
    assert_eq!(listed_null["tasks"].as_array().unwrap().len(), 1);
    assert!(matches!(
        tools::call(
            &*db.conn().await,
            &alice,
            &Origin::MCP,
            &LIMITS,
            "complete_task",
            json!({"task_id": "three"})
        )
        .await,
        Err(CallError::BadArguments { .. })
    ));
    assert!(matches!(
        tools::call(
            &*db.conn().await,
            &alice,
            &Origin::MCP,
            &LIMITS,
            "drop_tables",
            json!({})
        )
        .await,
        Err(CallError::UnknownTool(_))
    ));
    // A user id smuggled into arguments is refused, not obeyed.
    let smuggled = tools::call(
        &*db.conn().await,
        &user("bob"),
        &Origin::MCP,
        &LIMITS,
        "delete_task",
        json!({"task_id": id, "user_id": "alice"}),
    )
    .await;
    assert!(matches!(smuggled, Err(CallError::BadArguments { .. })));
    assert_eq!(titles(&db, "alice", StatusFilter::All).await.len(), 1);
}

/// A TCP proxy in front of the test database whose existing connections can be frozen: bytes
/// stop flowing but no socket closes, as when a NAT or a suspended compute drops a connection
/// silently. New connections keep working.
struct FreezingProxy {
    port: u16,
    generation: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FreezingProxy {
    async fn start(db: &TestDb) -> Self {
        use std::sync::atomic::Ordering;
        let target = match (
            db.pg_config.get_hosts().first(),
            db.pg_config.get_ports().first(),
        ) {
            (Some(tokio_postgres::config::Host::Tcp(host)), Some(port)) => format!("{host}:{port}"),
            other => panic!("the test database is not reached over TCP: {other:?}"),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let generation = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let current = generation.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(&target).await.unwrap();
                let born = current.load(Ordering::SeqCst);
                let current = current.clone();
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let alive = move || current.load(Ordering::SeqCst) == born;
                    let alive2 = alive.clone();
                    let up = async move {
                        let mut buf = [0u8; 8192];
                        loop {
                            use tokio::io::{AsyncReadExt, AsyncWriteExt};
                            let n = cr.read(&mut buf).await.unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            if alive() {
                                let _ = sw.write_all(&buf[..n]).await;
                            }
                        }
                    };
                    let down = async move {
                        let mut buf = [0u8; 8192];
                        loop {
                            use tokio::io::{AsyncReadExt, AsyncWriteExt};
                            let n = sr.read(&mut buf).await.unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            if alive2() {
                                let _ = cw.write_all(&buf[..n]).await;
                            }
                        }
                    };
                    tokio::join!(up, down);
                });
            }
        });
        Self { port, generation }
    }

    /// Existing connections stop carrying bytes (silently); new ones work.
    fn freeze(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A pool of one connection through `proxy` that verifies connections idle longer than
/// `verify_after` (within 300 ms).
fn one_connection_pool(
    db: &TestDb,
    proxy: &FreezingProxy,
    verify_after: std::time::Duration,
) -> db::DbPool {
    // `Config::host` adds a host: build the proxy's config afresh.
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(proxy.port)
        .user(db.pg_config.get_user().unwrap_or("postgres"))
        .dbname(db.pg_config.get_dbname().expect("a database name"))
        .ssl_mode(tokio_postgres::config::SslMode::Disable);
    if let Some(password) = db.pg_config.get_password() {
        config.password(password);
    }
    db::pool_from_pg_config(
        config,
        None,
        PoolSettings {
            max_size: 1,
            verify_after_idle: verify_after,
            recycle_timeout: std::time::Duration::from_millis(300),
            ..PoolSettings::LAMBDA
        },
    )
    .unwrap()
}

#[tokio::test]
async fn a_connection_that_died_silently_while_idle_is_replaced_before_a_request_uses_it() {
    let db = TestDb::new().await;
    let proxy = FreezingProxy::start(&db).await;
    let checked = one_connection_pool(&db, &proxy, std::time::Duration::ZERO);
    db::ping(&checked).await.unwrap();
    proxy.freeze();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), db::ping(&checked)).await;
    assert!(
        matches!(answer, Ok(Ok(()))),
        "the dead connection was checked and replaced: {answer:?}"
    );

    // Without the check the request gets the dead connection and never hears back.
    let unchecked = one_connection_pool(&db, &proxy, std::time::Duration::from_secs(3600));
    db::ping(&unchecked).await.unwrap();
    proxy.freeze();
    let answer =
        tokio::time::timeout(std::time::Duration::from_secs(2), db::ping(&unchecked)).await;
    assert!(
        !matches!(answer, Ok(Ok(()))),
        "an unchecked pool hands out the dead connection"
    );
}

/// The tools take a due in words, read in the user's zone; an edit of the title keeps a rule, and
/// completing a recurring task reports its next occurrence.
#[tokio::test]
async fn the_tools_take_due_dates_in_words_and_keep_recurrence() {
    let db = TestDb::new().await;
    let alice = user("alice");
    let conn = db.conn().await;
    smart_todo_shared::service::set_timezone(
        &conn,
        &alice,
        smart_todo_shared::domain::Zone::parse("Asia/Kolkata").unwrap(),
        &LIMITS,
    )
    .await
    .unwrap();
    let call = |tool: &'static str, args: serde_json::Value| {
        let conn = &conn;
        let alice = &alice;
        async move { tools::call(conn, alice, &Origin::MCP, &LIMITS, tool, args).await }
    };
    let added = call(
        "add_task",
        json!({"title": "Pay rent", "due": "every month on the 1st"}),
    )
    .await
    .unwrap();
    let added_json = added.to_json();
    assert_eq!(added_json["status"], "created");
    let due = added_json["due"].as_str().unwrap();
    assert!(due.ends_with("(every month on the 1st)"), "{due}");
    assert!(added.render().contains("(due "), "{}", added.render());
    let id = added_json["task_id"].as_i64().unwrap();
    let task = call("get_task", json!({"task_id": id}))
        .await
        .unwrap()
        .to_json();
    assert_eq!(task["due"]["timezone"], "Asia/Kolkata");
    assert_eq!(
        task["due"]["recurrence"]["rule"],
        "FREQ=MONTHLY;BYMONTHDAY=1"
    );
    let first = task["due"]["date"].as_str().unwrap().to_owned();
    assert!(first.ends_with("-01"), "{first}");
    // A model renaming the task sends no due: the rule stays.
    call(
        "update_task",
        json!({"task_id": id, "title": "Pay the rent"}),
    )
    .await
    .unwrap();
    let renamed = call("get_task", json!({"task_id": id}))
        .await
        .unwrap()
        .to_json();
    assert_eq!(renamed["due"], task["due"]);
    // Completing moves it a month on and says so.
    let done = call("complete_task", json!({"task_id": id})).await.unwrap();
    assert!(done.render().contains("(next due "), "{}", done.render());
    let moved = call("get_task", json!({"task_id": id}))
        .await
        .unwrap()
        .to_json();
    assert_eq!(moved["completed"], false);
    let next = moved["due"]["date"].as_str().unwrap();
    assert!(
        next > first.as_str() && next.ends_with("-01"),
        "{first} -> {next}"
    );
    // A phrase the parser cannot read is the model's error to fix, naming the field.
    let bad = call("update_task", json!({"task_id": id, "due": "whenever"})).await;
    let message = bad.unwrap_err().to_string();
    assert!(
        message.contains("due") && message.contains("tomorrow 5pm"),
        "{message}"
    );
    // null removes the date.
    call("update_task", json!({"task_id": id, "due": null}))
        .await
        .unwrap();
    let cleared = call("get_task", json!({"task_id": id}))
        .await
        .unwrap()
        .to_json();
    assert_eq!(cleared["due"], serde_json::Value::Null);
}

#[tokio::test]
async fn completing_a_recurring_task_with_its_occurrence_moves_it_once() {
    let db = TestDb::new().await;
    let alice = user("alice");
    let conn = db.conn().await;
    let created = tools::add_task(
        &*conn,
        &alice,
        &Origin::MCP,
        &LIMITS,
        AddTaskArgs {
            title: "Water the plants".into(),
            due: Some("every day".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let id = created.task_id;
    let seen = tools::get_task(&*conn, &alice, TaskRefArgs { task_id: id })
        .await
        .unwrap()
        .due
        .unwrap()
        .date;
    let complete = |occurrence: Option<String>| {
        let conn = &conn;
        let alice = &alice;
        async move {
            tools::complete_task(
                &**conn,
                alice,
                &Origin::MCP,
                &LIMITS,
                tools::CompleteTaskArgs {
                    task_id: id,
                    occurrence,
                },
            )
            .await
        }
    };
    // The same completion sent twice (a retried MCP call) moves the task one day, not two.
    for _ in 0..2 {
        complete(Some(seen.to_string())).await.unwrap();
    }
    let after = tools::get_task(&*conn, &alice, TaskRefArgs { task_id: id })
        .await
        .unwrap();
    assert_eq!(after.due.unwrap().date, seen + chrono::Duration::days(1));
    assert!(!after.completed, "a recurring task stays pending");
    // A bad occurrence is refused by name and changes nothing.
    let before = db.task_rows().await;
    let err = complete(Some("tomorrow".into())).await.unwrap_err();
    assert!(
        matches!(
            err,
            ToolError::Invalid {
                field: "occurrence",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(db.task_rows().await, before);
}
