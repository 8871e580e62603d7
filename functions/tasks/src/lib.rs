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
    DueChange, ListRequest, NewTask, PageCursor, PageLimit, ParseError, Profile, StatusFilter,
    Task, TaskDescription, TaskId, TaskPatch, TaskQuery, TaskTitle, Zone,
};
use smart_todo_shared::due::Due;
use smart_todo_shared::error::{FieldError, Problem};
use smart_todo_shared::history::{EventPage, Origin, Undone};
use smart_todo_shared::http::{
    ApiQuery, JsonBody, MAX_BODY_BYTES, OptionalJsonBody, require_path_user,
};
use smart_todo_shared::organise::{
    Counts, ListName, ListSummary, Order, Priority, Sort, Tag, View, parse_tags,
};
use smart_todo_shared::quick::{QuickAdd, parse_quick_add};
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
        .route("/api/parse", get(parse_line))
        .route("/api/counts", get(get_counts))
        .route("/api/activity", get(get_activity))
        .route("/api/trash", get(get_trash))
        .route("/api/undo", post(undo))
        .route("/api/lists", get(get_lists).post(create_list))
        .route(
            "/api/lists/{id}",
            axum::routing::patch(rename_list).delete(delete_list),
        )
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
        .route("/tasks/{id}/restore", post(restore_task))
}

/// The header by which the web app says a request is its own, so that history tells the two
/// apart (source `ui` instead of `rest`).
const CLIENT_HEADER: &str = "x-smart-todo-client";

/// Where a write comes from: the web app when it says so in [`CLIENT_HEADER`], else the API.
struct Via(Origin);

impl<S: Send + Sync> FromRequestParts<S> for Via {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(CLIENT_HEADER).iter();
        match (values.next(), values.next()) {
            (None, _) => Ok(Via(Origin::REST)),
            (Some(value), None) if value.as_bytes() == b"web" => Ok(Via(Origin::UI)),
            _ => Err(ApiError::BadRequest(format!(
                "{CLIENT_HEADER} may only be sent once, as 'web' (the web app)"
            ))),
        }
    }
}

/// The OpenAPI 3.1 document of this API, as served: it states every status and field limit the
/// server enforces.
pub fn openapi() -> serde_json::Value {
    openapi::contract(openapi::ApiDoc::openapi())
}

/// The `{id}` segment of the request's path, as written.
async fn path_id<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<String, ApiError> {
    let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::BadRequest("the path is malformed".into()))?;
    Ok(params.remove("id").unwrap_or_default())
}

/// The `{id}` path segment as a task id; anything that cannot be a task id is not found.
struct TaskIdPath(TaskId);

impl<S: Send + Sync> FromRequestParts<S> for TaskIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        TaskId::parse(&path_id(parts, state).await?)
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
    /// `none` (default), `low`, `medium` or `high`.
    #[serde(default)]
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
    /// The name of the list to put it on (a new name creates the list); absent, null or `Inbox`:
    /// the Inbox.
    #[serde(default)]
    pub list: Option<String>,
    /// At most 10 tags, each 1–32 characters without spaces; stored in lower case.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
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
    /// The new priority; null means `none`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<Option<String>>,
    /// The list to move it to, by name (a new name creates the list); null or `Inbox`: the Inbox.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub list: Option<Option<String>>,
    /// The whole new set of tags; null or `[]` removes them.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Option<Option<Vec<String>>>,
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
    /// As in `POST`; absent or null means `none`.
    #[serde(default)]
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
    /// As in `POST`; absent or null means the Inbox.
    #[serde(default)]
    pub list: Option<String>,
    /// As in `POST`; absent or null means none.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
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

fn priority(fields: &mut Fields, raw: Option<&str>) -> Priority {
    raw.and_then(|raw| fields.take("priority", Priority::parse(raw)))
        .unwrap_or_default()
}

/// The list a task goes on: `None` for the Inbox.
fn list(fields: &mut Fields, raw: Option<&str>) -> Option<ListName> {
    raw.and_then(|raw| fields.take("list", ListName::parse(raw)))
        .and_then(ListName::non_inbox)
}

fn tags(fields: &mut Fields, raw: Option<&[String]>) -> Vec<Tag> {
    raw.and_then(|raw| fields.take("tags", parse_tags(raw)))
        .unwrap_or_default()
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
        let priority = priority(&mut fields, self.priority.as_deref());
        let list = list(&mut fields, self.list.as_deref());
        let tags = tags(&mut fields, self.tags.as_deref());
        fields.finish(|| {
            let new = NewTask {
                title: title.expect("checked"),
                description,
                due: None,
                priority,
                list,
                tags,
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
        let priority = self.priority.map(|p| priority(&mut fields, p.as_deref()));
        let list = self.list.map(|l| list(&mut fields, l.as_deref()));
        let tags = self.tags.map(|t| tags(&mut fields, t.as_deref()));
        let (patch, due) = fields.finish(|| {
            let patch = TaskPatch {
                title: title.flatten(),
                description,
                completed,
                due: None,
                occurrence: None,
                priority,
                list,
                tags,
            };
            (patch, due)
        })?;
        if patch.is_empty() && due.is_none() {
            return Err(ApiError::invalid(
                "body",
                "nothing to change: send title, description, completed, due, priority, list or tags",
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
        let priority = priority(&mut fields, self.priority.as_deref());
        let list = list(&mut fields, self.list.as_deref());
        let tags = tags(&mut fields, self.tags.as_deref());
        fields.finish(|| {
            let patch = TaskPatch {
                title,
                description: Some(description),
                completed: Some(self.completed.unwrap_or(false)),
                due: None,
                occurrence: None,
                priority: Some(priority),
                list: Some(list),
                tags: Some(tags),
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

/// Query of `GET /api/tasks`. Every filter narrows the listing; an empty value is the default.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `all`, `pending` or `completed`. Default: `pending` with a dated view, else `all`.
    pub status: Option<String>,
    /// `today` (due today or overdue), `overdue`, `upcoming` (the 7 days after today),
    /// `no_date` or `all` (default), in the user's time zone.
    pub view: Option<String>,
    /// Words to find in titles and descriptions: each must start a word ("dent" finds
    /// "Dentist"); case and accents do not matter. Sorted by relevance unless `sort` says.
    pub q: Option<String>,
    /// Only tasks on this list, by name (`Inbox` for those on no other list).
    pub list: Option<String>,
    /// Only tasks with this tag.
    pub tag: Option<String>,
    /// Only tasks of this priority: `none`, `low`, `medium` or `high`.
    pub priority: Option<String>,
    /// Only tasks due before this date (`YYYY-MM-DD`, not included).
    pub due_before: Option<String>,
    /// Only tasks due after this date (`YYYY-MM-DD`, not included).
    pub due_after: Option<String>,
    /// `due`, `priority`, `created`, `updated`, `title` or `relevance` (with `q`). Default:
    /// `relevance` with `q`, `due` for the dated views, else `created`.
    pub sort: Option<String>,
    /// `asc` or `desc`; default: soonest, highest, oldest, latest change, A–Z, best match.
    pub order: Option<String>,
    /// Page size, 1–100 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page of the same listing.
    pub cursor: Option<String>,
}

/// A query parameter that is absent or empty (as forms send defaults) is not given.
fn given(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn query_date(raw: &str) -> Result<chrono::NaiveDate, ParseError> {
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ParseError("must be a date as YYYY-MM-DD".into()))
}

impl ListParams {
    fn parse(self) -> Result<TaskQuery, ApiError> {
        let mut fields = Fields::default();
        let status = given(&self.status).and_then(|raw| {
            let status = match raw {
                "all" => Ok(StatusFilter::All),
                "pending" => Ok(StatusFilter::Pending),
                "completed" => Ok(StatusFilter::Completed),
                _ => Err(ParseError("must be all, pending or completed".into())),
            };
            fields.take("status", status)
        });
        let limit = self
            .limit
            .as_deref()
            .and_then(|raw| fields.take("limit", PageLimit::parse(raw)));
        let request = ListRequest {
            status,
            view: given(&self.view).and_then(|raw| fields.take("view", View::parse(raw))),
            text: self.q.clone(),
            list: given(&self.list).and_then(|raw| fields.take("list", ListName::parse(raw))),
            tag: given(&self.tag).and_then(|raw| fields.take("tag", Tag::parse(raw))),
            priority: given(&self.priority)
                .and_then(|raw| fields.take("priority", Priority::parse(raw))),
            due_before: given(&self.due_before)
                .and_then(|raw| fields.take("due_before", query_date(raw))),
            due_after: given(&self.due_after)
                .and_then(|raw| fields.take("due_after", query_date(raw))),
            sort: given(&self.sort).and_then(|raw| fields.take("sort", Sort::parse(raw))),
            order: given(&self.order).and_then(|raw| fields.take("order", Order::parse(raw))),
            limit,
            after: given(&self.cursor)
                .and_then(|raw| fields.take("cursor", PageCursor::parse(raw))),
        };
        fields.finish(|| ())?;
        request
            .into_query()
            .map_err(|(field, e)| ApiError::invalid(field, e.0))
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

/// Query of the previews, `GET /api/due/parse` and `GET /api/parse`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParseParams {
    /// What to read: a due phrase (`tomorrow 5pm`, `every monday at 9`) or a quick-add line
    /// (`Buy milk tomorrow 5pm #errands !high ~shopping`).
    pub text: String,
}

/// Reads `text` with `read` in the user's zone: a preview's answer, or a 422 naming `text`.
async fn read_in_zone<T>(
    state: &AppState,
    user: &smart_todo_shared::domain::UserId,
    text: &str,
    read: impl FnOnce(&str, Zone) -> Result<T, ParseError>,
) -> Result<Json<T>, ApiError> {
    let client = db::client(&state.pool).await?;
    let zone = service::user_zone(&client, user).await?;
    read(text, zone)
        .map(Json)
        .map_err(|e| ApiError::invalid("text", e.0))
}

#[utoipa::path(get, path = "/api/due/parse", tag = "tasks", params(ParseParams), security(("bearer" = [])),
    responses((status = 200, body = Due), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn parse_due(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(params): ApiQuery<ParseParams>,
) -> Result<Json<Due>, ApiError> {
    if params.text.trim().is_empty() {
        return Err(ApiError::invalid(
            "text",
            "give a phrase such as 'tomorrow 5pm' or 'every monday at 9'",
        ));
    }
    read_in_zone(&state, &user, &params.text, |text, zone| {
        smart_todo_shared::due::parse_due(text, chrono::Utc::now(), zone.tz())
    })
    .await
}

#[utoipa::path(get, path = "/api/parse", tag = "tasks", params(ParseParams), security(("bearer" = [])),
    responses((status = 200, body = QuickAdd), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn parse_line(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(params): ApiQuery<ParseParams>,
) -> Result<Json<QuickAdd>, ApiError> {
    read_in_zone(&state, &user, &params.text, |text, zone| {
        parse_quick_add(text, chrono::Utc::now(), zone.tz())
    })
    .await
}

#[utoipa::path(get, path = "/api/counts", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, body = Counts), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn get_counts(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Counts>, ApiError> {
    let client = db::client(&state.pool).await?;
    Ok(Json(service::counts(&client, &user).await?))
}

/// The Inbox and the user's lists.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListsPage {
    /// The Inbox (id 0) first, then the user's lists by name.
    pub lists: Vec<ListSummary>,
}

/// Body of `POST /api/lists` and `PATCH /api/lists/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBody {
    /// 1–50 characters after trimming; unique per user, ignoring case; not `Inbox`.
    pub name: String,
}

impl ListBody {
    fn parse(self) -> Result<ListName, ApiError> {
        ListName::parse(&self.name).map_err(|e| ApiError::invalid("name", e.0))
    }
}

/// The `{id}` path segment as a list id; anything that cannot be one is not found.
struct ListIdPath(i64);

impl<S: Send + Sync> FromRequestParts<S> for ListIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, state)
            .await?
            .parse::<i64>()
            .ok()
            .filter(|id| *id >= 0)
            .map(ListIdPath)
            .ok_or_else(|| ApiError::NotFound("no such list".into()))
    }
}

#[utoipa::path(get, path = "/api/lists", tag = "lists", security(("bearer" = [])),
    responses((status = 200, body = ListsPage), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn get_lists(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<ListsPage>, ApiError> {
    let client = db::client(&state.pool).await?;
    Ok(Json(ListsPage {
        lists: service::lists(&client, &user).await?,
    }))
}

#[utoipa::path(post, path = "/api/lists", tag = "lists", request_body = ListBody, security(("bearer" = [])),
    responses((status = 201, body = ListSummary), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    JsonBody(body): JsonBody<ListBody>,
) -> Result<Response, ApiError> {
    let name = body.parse()?;
    let client = db::client(&state.pool).await?;
    let list = service::create_list(&client, &user, &name, &state.limits).await?;
    Ok((StatusCode::CREATED, Json(list)).into_response())
}

#[utoipa::path(patch, path = "/api/lists/{id}", tag = "lists", params(("id" = i64, Path)), request_body = ListBody,
    security(("bearer" = [])),
    responses((status = 200, body = ListSummary), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn rename_list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ListIdPath(id): ListIdPath,
    JsonBody(body): JsonBody<ListBody>,
) -> Result<Json<ListSummary>, ApiError> {
    let name = body.parse()?;
    let client = db::client(&state.pool).await?;
    Ok(Json(
        service::rename_list(&client, &user, id, &name, &state.limits).await?,
    ))
}

#[utoipa::path(delete, path = "/api/lists/{id}", tag = "lists", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Deleted; its tasks are in the Inbox now"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn delete_list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Via(origin): Via,
    ListIdPath(id): ListIdPath,
) -> Result<StatusCode, ApiError> {
    let client = db::client(&state.pool).await?;
    service::delete_list(&client, &user, &origin, id, &state.limits).await?;
    Ok(StatusCode::NO_CONTENT)
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
    let page = service::list_tasks(&client, &user, &query, false).await?;
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
    Via(origin): Via,
    JsonBody(body): JsonBody<CreateTask>,
) -> Result<Response, ApiError> {
    let (mut new, due) = body.parse()?;
    let client = db::client(&state.pool).await?;
    if let Some(due) = due
        && let DueChange::Set { due, .. } = due.resolve(&client, &user).await?
    {
        new.due = Some(due);
    }
    let task = service::create_task(&client, &user, &origin, &new, &state.limits).await?;
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
    origin: &Origin,
    id: TaskId,
    (mut patch, due): (TaskPatch, Option<DueInput>),
) -> Result<Json<Task>, ApiError> {
    let client = db::client(&state.pool).await?;
    if let Some(due) = due {
        patch.due = Some(due.resolve(&client, &user.0).await?);
    }
    Ok(Json(
        service::update_task(&client, &user.0, origin, id, &patch, &state.limits).await?,
    ))
}

#[utoipa::path(patch, path = "/api/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), request_body = PatchTask,
    security(("bearer" = [])),
    responses((status = 200, body = Task), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn patch_task(
    State(state): State<AppState>,
    user: AuthUser,
    Via(origin): Via,
    TaskIdPath(id): TaskIdPath,
    JsonBody(body): JsonBody<PatchTask>,
) -> Result<Json<Task>, ApiError> {
    apply(&state, &user, &origin, id, body.parse()?).await
}

#[utoipa::path(put, path = "/api/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), request_body = PutTask,
    security(("bearer" = [])),
    responses((status = 200, body = Task), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn put_task(
    State(state): State<AppState>,
    user: AuthUser,
    Via(origin): Via,
    TaskIdPath(id): TaskIdPath,
    JsonBody(body): JsonBody<PutTask>,
) -> Result<Json<Task>, ApiError> {
    apply(&state, &user, &origin, id, body.parse()?).await
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
    Via(origin): Via,
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
        service::set_completed(
            &client,
            &user.0,
            &origin,
            id,
            true,
            occurrence,
            &state.limits,
        )
        .await?,
    ))
}

#[utoipa::path(post, path = "/api/tasks/{id}/reopen", tag = "tasks", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Task), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn reopen_task(
    State(state): State<AppState>,
    user: AuthUser,
    Via(origin): Via,
    TaskIdPath(id): TaskIdPath,
) -> Result<Json<Task>, ApiError> {
    let client = db::client(&state.pool).await?;
    Ok(Json(
        service::set_completed(&client, &user.0, &origin, id, false, None, &state.limits).await?,
    ))
}

/// Phase II: `PATCH /api/{user_id}/tasks/{id}/complete` flips completion.
async fn toggle_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Via(origin): Via,
    TaskIdPath(id): TaskIdPath,
) -> Result<Json<Task>, ApiError> {
    let client = db::client(&state.pool).await?;
    Ok(Json(
        service::toggle_task(&client, &user, &origin, id, &state.limits).await?,
    ))
}

#[utoipa::path(delete, path = "/api/tasks/{id}", tag = "tasks", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204, description = "In the trash for 30 days: `POST /api/tasks/{id}/restore` or `POST /api/undo` brings it back"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Via(origin): Via,
    TaskIdPath(id): TaskIdPath,
) -> Result<StatusCode, ApiError> {
    let client = db::client(&state.pool).await?;
    service::delete_task(&client, &user, &origin, id, &state.limits).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/tasks/{id}/restore", tag = "history", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Task, description = "Back from the trash, with its number"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
async fn restore_task(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Via(origin): Via,
    TaskIdPath(id): TaskIdPath,
) -> Result<Json<Task>, ApiError> {
    let client = db::client(&state.pool).await?;
    Ok(Json(
        service::restore_task(&client, &user, &origin, id, &state.limits).await?,
    ))
}

/// Query of `GET /api/activity`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActivityParams {
    /// Only the changes of this task.
    pub task_id: Option<String>,
    /// Changes per page, 1–100 (default 50).
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page size given as a query parameter: 1 to 100, 50 when absent.
fn page_limit(raw: Option<&str>) -> Result<PageLimit, ApiError> {
    raw.map(PageLimit::parse)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|e| ApiError::invalid("limit", e.0))
}

#[utoipa::path(get, path = "/api/activity", tag = "history", params(ActivityParams), security(("bearer" = [])),
    responses((status = 200, body = EventPage), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn get_activity(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(params): ApiQuery<ActivityParams>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = page_limit(params.limit.as_deref())?;
    let task = params
        .task_id
        .as_deref()
        .map(|raw| TaskId::parse(raw).map_err(|e| ApiError::invalid("task_id", e.0)))
        .transpose()?;
    let before = params
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|raw| {
            smart_todo_shared::history::parse_cursor(raw)
                .map_err(|e| ApiError::invalid("cursor", e.0))
        })
        .transpose()?;
    let client = db::client(&state.pool).await?;
    Ok(Json(
        service::activity(&client, &user, task, before, limit).await?,
    ))
}

/// Query of `GET /api/trash`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrashParams {
    /// Tasks per page, 1–100 (default 50).
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of the trash.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrashPage {
    /// Deleted tasks, most recently deleted first; each stays 30 days.
    pub tasks: Vec<Task>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

fn trash_cursor(raw: &str) -> Result<smart_todo_shared::repo::TrashCursor, ApiError> {
    let bad = || ApiError::invalid("cursor", "must be the next_cursor of a page of the trash");
    let parts = smart_todo_shared::history::read_cursor(raw, "trash", 2).map_err(|_| bad())?;
    let deleted_at = chrono::DateTime::from_timestamp_micros(parts[0]).ok_or_else(bad)?;
    Ok(smart_todo_shared::repo::TrashCursor {
        deleted_at,
        id: parts[1],
    })
}

#[utoipa::path(get, path = "/api/trash", tag = "history", params(TrashParams), security(("bearer" = [])),
    responses((status = 200, body = TrashPage), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn get_trash(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(params): ApiQuery<TrashParams>,
) -> Result<Json<TrashPage>, ApiError> {
    let limit = page_limit(params.limit.as_deref())?;
    let after = params
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(trash_cursor)
        .transpose()?;
    let client = db::client(&state.pool).await?;
    let (tasks, next) = service::trash(&client, &user, after, limit).await?;
    Ok(Json(TrashPage {
        tasks,
        next_cursor: next.map(|c| {
            smart_todo_shared::history::write_cursor(
                "trash",
                &[c.deleted_at.timestamp_micros(), c.id],
            )
        }),
    }))
}

/// Body of `POST /api/undo` (may be left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoBody {
    /// Undo everything this chat turn changed (its `turn_id` in the history); absent: the latest
    /// change, whatever made it.
    #[schema(value_type = Option<String>, format = "uuid")]
    pub turn_id: Option<String>,
}

#[utoipa::path(post, path = "/api/undo", tag = "history", request_body(content = Option<UndoBody>), security(("bearer" = [])),
    responses((status = 200, body = Undone, description = "What was undone; undoing again redoes it"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "No change of yours in that turn"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Nothing to undo, or a later change would be overwritten: nothing changed"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
async fn undo(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Via(origin): Via,
    OptionalJsonBody(body): OptionalJsonBody<UndoBody>,
) -> Result<Json<Undone>, ApiError> {
    let turn = body
        .turn_id
        .as_deref()
        .map(|raw| {
            smart_todo_shared::domain::TurnId::parse(raw)
                .map_err(|e| ApiError::invalid("turn_id", e.0))
        })
        .transpose()?;
    let client = db::client(&state.pool).await?;
    Ok(Json(
        service::undo(&client, &user, &origin, turn, &state.limits).await?,
    ))
}
