//! The `tasks` Lambda: the REST task API. Handlers extract, make one call into `shared`, and map.

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::{HeaderValue, StatusCode, header::LOCATION, request::Parts};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer, Serialize};
use smart_todo_shared::domain::{
    DueChange, NewTask, PageCursor, PageLimit, Profile, StatusFilter, Task, TaskDescription,
    TaskId, TaskPatch, TaskQuery, TaskTitle, Zone,
};
use smart_todo_shared::due::Due;
use smart_todo_shared::error::{FieldError, Problem};
use smart_todo_shared::http::{ApiQuery, JsonBody, MAX_BODY_BYTES, require_path_user};
use smart_todo_shared::{ApiError, AppState, AuthUser, db, service};
use utoipa::{OpenApi, ToSchema};

mod openapi;

/// Every route of the REST task API, including the Phase II `/api/{user_id}/tasks…` routes.
pub fn router(state: AppState) -> Router {
    // Phase II: the same routes under the user's id, which must be the token's subject, plus the
    // old completion toggle.
    let phase2 = task_routes(post(complete_task).patch(toggle_task)).route_layer(
        middleware::from_fn_with_state(state.clone(), require_path_user),
    );

    Router::new()
        .route("/api/health", get(health))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/me", get(get_me).patch(patch_me))
        .route("/api/due/parse", get(parse_due))
        .nest("/api", task_routes(post(complete_task)))
        .nest("/api/{user_id}", phase2)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn task_routes(complete: MethodRouter<AppState>) -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list_tasks).post(create_task))
        .route(
            "/tasks/{id}",
            get(get_task)
                .patch(patch_task)
                .put(put_task)
                .delete(delete_task),
        )
        .route("/tasks/{id}/complete", complete)
        .route("/tasks/{id}/reopen", post(reopen_task))
}

/// The OpenAPI 3.1 document of this API, as served: it states every status and field limit the
/// server enforces.
pub fn openapi() -> serde_json::Value {
    openapi::contract(openapi::ApiDoc::openapi())
}

/// The `{id}` path segment as a task id; anything that cannot be a task id is not found.
struct TaskIdPath(TaskId);

impl<S: Send + Sync> FromRequestParts<S> for TaskIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::BadRequest("the path is malformed".into()))?;
        let raw = params.get("id").map(String::as_str).unwrap_or_default();
        TaskId::parse(raw)
            .map(TaskIdPath)
            .map_err(|e| ApiError::NotFound(format!("no such task: {e}")))
    }
}

/// Body of `POST /api/tasks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    /// 1–200 characters after trimming.
    pub title: String,
    /// At most 2,000 characters; blank means none.
    #[serde(default)]
    pub description: Option<String>,
    /// When it is due: a phrase read in the user's time zone ("tomorrow 5pm", "every monday at
    /// 9"), the object `{date, time?, timezone?, recurrence?: {rule}}`, or null for none.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub due: Option<serde_json::Value>,
}

/// Body of `PATCH /api/tasks/{id}`: any of the fields; `description: null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTask {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub completed: Option<Option<bool>>,
    /// A phrase, the due object, or null to remove the date. A phrase or object without a
    /// recurrence keeps a recurring task's rule; `recurrence: null` in the object removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub due: Option<Option<serde_json::Value>>,
}

/// Body of `PUT /api/tasks/{id}`: the whole task; an absent description is none, an absent
/// `completed` is false.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutTask {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub completed: Option<bool>,
    /// As in `POST`; absent or null means no date.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub due: Option<serde_json::Value>,
}

/// Body of `PATCH /api/me`: the settings to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    /// IANA time zone name, e.g. `Europe/Berlin`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "Europe/Berlin")]
    pub timezone: Option<Option<String>>,
}

impl PatchMe {
    fn parse(self) -> Result<Zone, ApiError> {
        let mut fields = Fields::default();
        let zone = match self.timezone {
            None => {
                return Err(ApiError::invalid(
                    "body",
                    "nothing to change: send timezone",
                ));
            }
            Some(None) => fields.take::<Zone>(
                "timezone",
                Err(smart_todo_shared::domain::ParseError(
                    "must not be null: send an IANA name such as 'UTC'".into(),
                )),
            ),
            Some(Some(raw)) => fields.take("timezone", Zone::parse(&raw)),
        };
        fields.finish(|| zone.expect("checked"))
    }
}

/// Tells a field sent as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    de: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
}

/// Collects every field error of a body instead of stopping at the first.
#[derive(Default)]
struct Fields(Vec<FieldError>);

impl Fields {
    fn take<T>(
        &mut self,
        field: &str,
        result: Result<T, smart_todo_shared::domain::ParseError>,
    ) -> Option<T> {
        result
            .map_err(|e| self.0.push(FieldError::new(field, e.0)))
            .ok()
    }

    fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

fn description(fields: &mut Fields, raw: Option<&str>) -> Option<TaskDescription> {
    raw.and_then(|raw| {
        fields
            .take("description", TaskDescription::parse(raw))
            .flatten()
    })
}

/// A `due` as sent, checked for shape; [`DueInput::resolve`] reads it in the user's zone.
enum DueInput {
    Clear,
    Text(String),
    Parts {
        date: String,
        time: Option<String>,
        timezone: Option<String>,
        /// `None`: no `recurrence` key (keep a rule); `Some(None)`: `recurrence: null`.
        rule: Option<Option<String>>,
    },
}

/// The due object as the API shows it; `at` and `text` are derived, accepted and ignored, so a
/// client can send back a due it read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DueObject {
    date: String,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default, deserialize_with = "present")]
    recurrence: Option<Option<RecurrenceObject>>,
    #[serde(default, rename = "at")]
    _at: serde_json::Value,
    #[serde(default, rename = "text")]
    _text: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecurrenceObject {
    rule: String,
    #[serde(default, rename = "text")]
    _text: serde_json::Value,
}

const DUE_SHAPE: &str = "must be a phrase such as 'tomorrow 5pm', an object \
    {date, time, timezone, recurrence: {rule}}, or null";

fn due_input(fields: &mut Fields, raw: Option<serde_json::Value>) -> Option<DueInput> {
    use serde_json::Value;
    match raw {
        None | Some(Value::Null) => Some(DueInput::Clear),
        Some(Value::String(text)) if text.trim().is_empty() => Some(DueInput::Clear),
        Some(Value::String(text)) => Some(DueInput::Text(text)),
        Some(value @ Value::Object(_)) => match serde_json::from_value::<DueObject>(value) {
            Ok(object) => Some(DueInput::Parts {
                date: object.date,
                time: object.time,
                timezone: object.timezone,
                rule: object.recurrence.map(|r| r.map(|r| r.rule)),
            }),
            Err(e) => {
                fields
                    .0
                    .push(FieldError::new("due", format!("{DUE_SHAPE} ({e})")));
                None
            }
        },
        Some(_) => {
            fields.0.push(FieldError::new("due", DUE_SHAPE));
            None
        }
    }
}

impl DueInput {
    /// The change this input makes, read in the user's zone (one statement when it needs the
    /// zone: a phrase, or an object without `timezone`).
    async fn resolve(
        self,
        client: &db::Client,
        user: &smart_todo_shared::domain::UserId,
    ) -> Result<DueChange, ApiError> {
        let now = chrono::Utc::now();
        match self {
            DueInput::Clear => Ok(DueChange::Clear),
            DueInput::Text(text) => {
                let due = service::due_from_text(client, user, &text).await?;
                let keep_rule = due.recurrence.is_none();
                Ok(DueChange::Set { due, keep_rule })
            }
            DueInput::Parts {
                date,
                time,
                timezone,
                rule,
            } => {
                let zone = match timezone {
                    Some(_) => Zone::UTC,
                    None => service::user_zone(client, user).await?,
                };
                let due = Due::from_parts(
                    &date,
                    time.as_deref(),
                    timezone.as_deref(),
                    rule.as_ref().and_then(|r| r.as_deref()),
                    zone.tz(),
                    now,
                )
                .map_err(|e| ApiError::invalid("due", e.0))?;
                Ok(DueChange::Set {
                    due,
                    keep_rule: rule.is_none(),
                })
            }
        }
    }
}

impl CreateTask {
    fn parse(self) -> Result<(NewTask, Option<DueInput>), ApiError> {
        let mut fields = Fields::default();
        let title = fields.take("title", TaskTitle::parse(&self.title));
        let description = description(&mut fields, self.description.as_deref());
        let due = due_input(&mut fields, self.due);
        fields.finish(|| {
            let new = NewTask {
                title: title.expect("checked"),
                description,
                due: None,
            };
            (new, due.filter(|d| !matches!(d, DueInput::Clear)))
        })
    }
}

impl PatchTask {
    fn parse(self) -> Result<(TaskPatch, Option<DueInput>), ApiError> {
        let mut fields = Fields::default();
        let null = smart_todo_shared::domain::ParseError("must not be null".into());
        let title = match &self.title {
            Some(None) => fields
                .take::<TaskTitle>("title", Err(null.clone()))
                .map(Some),
            Some(Some(raw)) => Some(fields.take("title", TaskTitle::parse(raw))),
            None => None,
        };
        let completed = match self.completed {
            Some(None) => fields.take::<bool>("completed", Err(null)),
            Some(Some(done)) => Some(done),
            None => None,
        };
        let description = self
            .description
            .map(|d| description(&mut fields, d.as_deref()));
        let due = self.due.and_then(|d| due_input(&mut fields, d));
        let (patch, due) = fields.finish(|| {
            let patch = TaskPatch {
                title: title.flatten(),
                description,
                completed,
                due: None,
                occurrence: None,
            };
            (patch, due)
        })?;
        if patch.is_empty() && due.is_none() {
            return Err(ApiError::invalid(
                "body",
                "nothing to change: send title, description, completed or due",
            ));
        }
        Ok((patch, due))
    }
}

impl PutTask {
    fn parse(self) -> Result<(TaskPatch, Option<DueInput>), ApiError> {
        let mut fields = Fields::default();
        let title = fields.take("title", TaskTitle::parse(&self.title));
        let description = description(&mut fields, self.description.as_deref());
        let due = due_input(&mut fields, self.due);
        fields.finish(|| {
            let patch = TaskPatch {
                title,
                description: Some(description),
                completed: Some(self.completed.unwrap_or(false)),
                due: None,
                occurrence: None,
            };
            // The whole task: no date means no date (and no rule).
            let due = match due {
                Some(DueInput::Parts {
                    date,
                    time,
                    timezone,
                    rule,
                }) => DueInput::Parts {
                    date,
                    time,
                    timezone,
                    rule: Some(rule.flatten()),
                },
                other => other.unwrap_or(DueInput::Clear),
            };
            (patch, Some(due))
        })
    }
}

/// Query of `GET /api/tasks`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `all` (default), `pending` or `completed`.
    pub status: Option<String>,
    /// Text to find in title or description, ignoring case.
    pub q: Option<String>,
    /// Page size, 1–100 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListParams {
    fn parse(self) -> Result<TaskQuery, ApiError> {
        let mut fields = Fields::default();
        let status = match self.status.as_deref() {
            None | Some("") | Some("all") => StatusFilter::All,
            Some("pending") => StatusFilter::Pending,
            Some("completed") => StatusFilter::Completed,
            Some(_) => {
                fields.0.push(FieldError::new(
                    "status",
                    "must be all, pending or completed",
                ));
                StatusFilter::All
            }
        };
        let limit = match self.limit.as_deref() {
            None => Some(PageLimit::DEFAULT),
            Some(raw) => fields.take(
                "limit",
                raw.parse::<i64>()
                    .map_err(|_| {
                        smart_todo_shared::domain::ParseError("limit must be a whole number".into())
                    })
                    .and_then(PageLimit::new),
            ),
        };
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(raw) => fields.take("cursor", PageCursor::parse(raw)),
        };
        let text = self
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty());
        if text
            .as_deref()
            .is_some_and(|q| q.contains('\0') || q.chars().count() > 200)
        {
            fields.0.push(FieldError::new(
                "q",
                "must be at most 200 characters without NUL",
            ));
        }
        fields.finish(|| TaskQuery {
            status,
            text,
            limit: limit.unwrap_or_default(),
            after,
        })
    }
}

/// A page of tasks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskListPage {
    pub tasks: Vec<Task>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Health report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub database: String,
}

#[utoipa::path(get, path = "/api/health", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Problem, content_type = "application/problem+json")))]
async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    db::ping(&state.pool).await?;
    Ok(Json(Health {
        status: "ok".into(),
        database: "ok".into(),
    }))
}

#[utoipa::path(get, path = "/api/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn get_me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Profile>, ApiError> {
    let client = db::client(&state.pool).await?;
    Ok(Json(service::profile(&client, &user).await?))
}

#[utoipa::path(patch, path = "/api/me", tag = "me", request_body = PatchMe, security(("bearer" = [])),
    responses((status = 200, body = Profile), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn patch_me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    JsonBody(body): JsonBody<PatchMe>,
) -> Result<Json<Profile>, ApiError> {
    let zone = body.parse()?;
    let client = db::client(&state.pool).await?;
    Ok(Json(
        service::set_timezone(&client, &user, zone, &state.limits).await?,
    ))
}

/// Query of `GET /api/due/parse`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParseDueParams {
    /// The phrase, e.g. `tomorrow 5pm` or `every monday at 9`.
    pub text: String,
}

#[utoipa::path(get, path = "/api/due/parse", tag = "tasks", params(ParseDueParams), security(("bearer" = [])),
    responses((status = 200, body = Due), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn parse_due(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(params): ApiQuery<ParseDueParams>,
) -> Result<Json<Due>, ApiError> {
    let text = params.text;
    if text.trim().is_empty() {
        return Err(ApiError::invalid(
            "text",
            "give a phrase such as 'tomorrow 5pm' or 'every monday at 9'",
        ));
    }
    let client = db::client(&state.pool).await?;
    let zone = service::user_zone(&client, &user).await?;
    smart_todo_shared::due::parse_due(&text, chrono::Utc::now(), zone.tz())
        .map(Json)
        .map_err(|e| ApiError::invalid("text", e.0))
}

async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi())
}

#[utoipa::path(get, path = "/api/tasks", tag = "tasks", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = TaskListPage), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn list_tasks(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<TaskListPage>, ApiError> {
    let query = params.parse()?;
    let client = db::client(&state.pool).await?;
    let page = service::list_tasks(&client, &user, &query).await?;
    Ok(Json(TaskListPage {
        tasks: page.tasks,
        next_cursor: page.next_cursor.map(|c| c.to_string()),
    }))
}

#[utoipa::path(post, path = "/api/tasks", tag = "tasks", request_body = CreateTask, security(("bearer" = [])),
    responses((status = 201, body = Task, headers(("Location" = String, description = "URL of the new task"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    JsonBody(body): JsonBody<CreateTask>,
) -> Result<Response, ApiError> {
    let (mut new, due) = body.parse()?;
    let client = db::client(&state.pool).await?;
    if let Some(due) = due
        && let DueChange::Set { due, .. } = due.resolve(&client, &user).await?
    {
        new.due = Some(due);
    }
    let task = service::create_task(&client, &user, &new, &state.limits).await?;
    let location = HeaderValue::try_from(format!("/api/tasks/{}", task.id)).expect("ascii");
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(task)).into_response())
}

#[utoipa::path(get, path = "/api/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Task), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    TaskIdPath(id): TaskIdPath,
) -> Result<Json<Task>, ApiError> {
    let client = db::client(&state.pool).await?;
    Ok(Json(service::get_task(&client, &user, id).await?))
}

async fn apply(
    state: &AppState,
    user: &AuthUser,
    id: TaskId,
    (mut patch, due): (TaskPatch, Option<DueInput>),
) -> Result<Json<Task>, ApiError> {
    let client = db::client(&state.pool).await?;
    if let Some(due) = due {
        patch.due = Some(due.resolve(&client, &user.0).await?);
    }
    Ok(Json(
        service::update_task(&client, &user.0, id, &patch, &state.limits).await?,
    ))
}

#[utoipa::path(patch, path = "/api/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), request_body = PatchTask,
    security(("bearer" = [])),
    responses((status = 200, body = Task), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn patch_task(
    State(state): State<AppState>,
    user: AuthUser,
    TaskIdPath(id): TaskIdPath,
    JsonBody(body): JsonBody<PatchTask>,
) -> Result<Json<Task>, ApiError> {
    apply(&state, &user, id, body.parse()?).await
}

#[utoipa::path(put, path = "/api/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), request_body = PutTask,
    security(("bearer" = [])),
    responses((status = 200, body = Task), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn put_task(
    State(state): State<AppState>,
    user: AuthUser,
    TaskIdPath(id): TaskIdPath,
    JsonBody(body): JsonBody<PutTask>,
) -> Result<Json<Task>, ApiError> {
    apply(&state, &user, id, body.parse()?).await
}

/// Query of `POST /api/tasks/{id}/complete`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompleteParams {
    /// For a recurring task: the due date (`YYYY-MM-DD`) of the occurrence being completed. The
    /// task moves to its next occurrence only while it is still due then, so a completion sent
    /// twice (a retry, two tabs) moves it once. Without it, the current occurrence is completed.
    pub occurrence: Option<String>,
}

#[utoipa::path(post, path = "/api/tasks/{id}/complete", tag = "tasks", params(("id" = i64, Path), CompleteParams),
    security(("bearer" = [])),
    responses((status = 200, body = Task), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn complete_task(
    State(state): State<AppState>,
    user: AuthUser,
    TaskIdPath(id): TaskIdPath,
    ApiQuery(params): ApiQuery<CompleteParams>,
) -> Result<Json<Task>, ApiError> {
    let occurrence = match params.occurrence.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map_err(|_| ApiError::invalid("occurrence", "must be a date as YYYY-MM-DD"))?,
        ),
    };
    let client = db::client(&state.pool).await?;
    Ok(Json(
        service::set_completed(&client, &user.0, id, true, occurrence, &state.limits).await?,
    ))
}

#[utoipa::path(post, path = "/api/tasks/{id}/reopen", tag = "tasks", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Task), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn reopen_task(
    State(state): State<AppState>,
    user: AuthUser,
    TaskIdPath(id): TaskIdPath,
) -> Result<Json<Task>, ApiError> {
    let client = db::client(&state.pool).await?;
    Ok(Json(
        service::set_completed(&client, &user.0, id, false, None, &state.limits).await?,
    ))
}

/// Phase II: `PATCH /api/{user_id}/tasks/{id}/complete` flips completion.
async fn toggle_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    TaskIdPath(id): TaskIdPath,
) -> Result<Json<Task>, ApiError> {
    let client = db::client(&state.pool).await?;
    Ok(Json(
        service::toggle_task(&client, &user, id, &state.limits).await?,
    ))
}

#[utoipa::path(delete, path = "/api/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    TaskIdPath(id): TaskIdPath,
) -> Result<StatusCode, ApiError> {
    let client = db::client(&state.pool).await?;
    service::delete_task(&client, &user, id, &state.limits).await?;
    Ok(StatusCode::NO_CONTENT)
}
