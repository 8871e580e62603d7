//! What the agent loop asks of a model, and the back-ends that answer: an OpenAI-compatible Chat
//! Completions endpoint, or the offline assistant.

use super::offline::OfflineModel;
use super::openai::OpenAiModel;
use smart_todo_shared::tools::ToolSpec;

/// Where a model sends its text as it is produced.
pub type Deltas<'a> = dyn Fn(String) + Send + Sync + 'a;

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON text, as the model wrote it.
    pub arguments: String,
}

/// One message of the model's context.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelMessage {
    User(String),
    Assistant {
        text: String,
        tool_calls: Vec<ToolCall>,
    },
    Tool {
        call_id: String,
        content: String,
    },
}

/// One request to the model.
pub struct ModelRequest<'a> {
    pub system: &'a str,
    pub messages: &'a [ModelMessage],
    pub tools: &'a [ToolSpec],
}

/// What the model answered in one round: text (already streamed as deltas) and tool calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelReply {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
}

/// Why the model could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model did not answer in time")]
    Timeout,
    #[error("the model service failed: {0}")]
    Service(String),
}

/// The configured back-end.
pub enum Model {
    OpenAi(Box<OpenAiModel>),
    Offline(OfflineModel),
}

impl Model {
    /// Runs one round; text deltas go to `deltas` as they arrive.
    pub async fn complete(
        &self,
        request: ModelRequest<'_>,
        deltas: &Deltas<'_>,
    ) -> Result<ModelReply, ModelError> {
        match self {
            Self::OpenAi(model) => model.complete(request, deltas).await,
            Self::Offline(model) => model.complete(request, deltas).await,
        }
    }

    /// A short name for logs and the health of the chat function.
    pub fn name(&self) -> &str {
        match self {
            Self::OpenAi(model) => model.model_name(),
            Self::Offline(_) => "offline",
        }
    }
}
