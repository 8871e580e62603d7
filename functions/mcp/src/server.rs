//! The MCP server itself: the shared tool registry offered through rmcp. Names, descriptions,
//! schemas and renderings come from `tools::Tool` only; every call runs through it.

use std::sync::{Arc, LazyLock};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;
use smart_todo_shared::config::Limits;
use smart_todo_shared::db::{self, DbError};
use smart_todo_shared::domain::UserId;
use smart_todo_shared::history::Origin;
use smart_todo_shared::tools::{self, CallError, ToolError, ToolOutput};
use smart_todo_shared::{AuthUser, DbPool};

/// What MCP clients are told about this server at `initialize`.
const INSTRUCTIONS: &str = "Manage the signed-in user's todo list. Use list_tasks to find a task's id \
before completing, updating, reopening or deleting it by name.";

/// The tool list, built once per process from the catalog (a cache: it never changes at run time).
static TOOLS: LazyLock<Vec<Tool>> =
    LazyLock::new(|| tools::catalog().map(|spec| tool_from_spec(&spec)).collect());

/// The MCP handler of one request: the task tools for the user the auth layer verified.
#[derive(Clone)]
pub struct TaskToolServer {
    pool: DbPool,
    limits: Limits,
}

impl TaskToolServer {
    /// A handler over `pool`; cheap, so the transport builds one per request.
    pub fn new(pool: DbPool, limits: Limits) -> Self {
        Self { pool, limits }
    }
}

/// The MCP description of one catalog entry.
fn tool_from_spec(spec: &tools::ToolSpec) -> Tool {
    let annotations = ToolAnnotations::with_title(spec.title)
        .read_only(spec.read_only)
        .destructive(spec.destructive)
        .idempotent(spec.idempotent)
        .open_world(false);
    Tool::new(spec.name, spec.description, Arc::new(spec.input_schema()))
        .with_title(spec.title)
        .with_raw_output_schema(Arc::new(spec.output_schema()))
        .with_annotations(annotations)
}

impl ServerHandler for TaskToolServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("smart-todo", env!("CARGO_PKG_VERSION"))
                    .with_title("Smart Todo"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(TOOLS.clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        TOOLS.iter().find(|tool| tool.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let user = verified_user(&context)?;
        let arguments = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let outcome = match db::client(&self.pool).await {
            Ok(client) => {
                tools::call(
                    &client,
                    &user,
                    &Origin::MCP,
                    &self.limits,
                    &request.name,
                    arguments,
                )
                .await
            }
            Err(err) => Err(CallError::Tool(ToolError::Db(err))),
        };
        tracing::info!(
            tool = %request.name,
            user_id = %user,
            ok = outcome.is_ok(),
            "tool call"
        );
        tool_result(outcome).map(CallToolResponse::from)
    }
}

/// The user the auth layer put into the HTTP request, which rmcp hands to tools as `Parts`.
fn verified_user(context: &RequestContext<RoleServer>) -> Result<UserId, ErrorData> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<AuthUser>())
        .map(|AuthUser(user)| user.clone())
        .ok_or_else(|| {
            // Only a router wired without the auth layer gets here.
            tracing::error!("an MCP tool call reached the server without a verified user");
            ErrorData::internal_error("the request is not authenticated", None)
        })
}

/// Maps a catalog call to MCP: results become structured content plus a short text; failures the
/// caller can act on are `isError` results; bad arguments and unknown tools are `invalid_params`.
pub fn tool_result(outcome: Result<ToolOutput, CallError>) -> Result<CallToolResult, ErrorData> {
    match outcome {
        Ok(output) => {
            let mut result = CallToolResult::structured(output.to_json());
            result.content = vec![ContentBlock::text(output.render())];
            Ok(result)
        }
        Err(err @ (CallError::UnknownTool(_) | CallError::BadArguments { .. })) => {
            Err(ErrorData::invalid_params(err.to_string(), None))
        }
        Err(CallError::Tool(err)) => Ok(CallToolResult::error(vec![ContentBlock::text(
            tool_error_text(err),
        )])),
    }
}

/// What the caller reads about a failed tool run; database causes go to the log only.
fn tool_error_text(err: ToolError) -> String {
    match err {
        ToolError::NotFound(_)
        | ToolError::ListNotFound(_)
        | ToolError::Missing(_)
        | ToolError::Conflict(_)
        | ToolError::Invalid { .. }
        | ToolError::Limited { .. } => err.to_string(),
        ToolError::Db(DbError::Limit(what)) => format!("{what}; delete some to add more"),
        ToolError::Db(DbError::Unavailable(cause)) => {
            tracing::warn!(error = %format!("{cause:#}"), "database unavailable during a tool call");
            "The task database is unavailable right now; try again in a few seconds.".into()
        }
        ToolError::Db(DbError::Query(cause)) => {
            tracing::error!(error = ?cause, "tool call failed");
            "Something went wrong on our side; it has been logged.".into()
        }
        ToolError::Db(DbError::Conflict { constraint }) => {
            tracing::warn!(%constraint, "tool call conflicted");
            "That change conflicts with another one made at the same moment; try again.".into()
        }
        ToolError::Db(DbError::Precondition(what)) => {
            tracing::warn!(%what, "tool call lost a race");
            "That change conflicts with another one made at the same moment; try again.".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_tool_is_listed_with_its_schemas_and_annotations() {
        assert_eq!(TOOLS.len(), tools::Tool::ALL.len());
        for (tool, spec) in TOOLS.iter().zip(tools::catalog()) {
            assert_eq!(tool.name, spec.name);
            assert_eq!(tool.description.as_deref(), Some(spec.description));
            assert!(tool.output_schema.is_some(), "{}", spec.name);
            let annotations = tool.annotations.as_ref().expect("annotations");
            assert_eq!(annotations.read_only_hint, Some(spec.read_only));
            assert_eq!(annotations.open_world_hint, Some(false));
        }
    }

    #[test]
    fn failures_map_to_is_error_results_or_invalid_params() {
        let not_found = tool_result(Err(CallError::Tool(ToolError::NotFound(7)))).unwrap();
        assert_eq!(not_found.is_error, Some(true));
        let unavailable = tool_result(Err(CallError::Tool(ToolError::Db(DbError::Unavailable(
            anyhow::anyhow!("connect to 10.0.0.5:5432 refused"),
        )))))
        .unwrap();
        assert_eq!(unavailable.is_error, Some(true));
        let text = serde_json::to_string(&unavailable).unwrap();
        assert!(!text.contains("10.0.0.5"), "{text}");
        let unknown = tool_result(Err(CallError::UnknownTool("nope".into()))).unwrap_err();
        assert_eq!(unknown.code, rmcp::model::ErrorCode::INVALID_PARAMS);
    }
}
