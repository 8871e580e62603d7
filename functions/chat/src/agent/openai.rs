//! Any OpenAI-compatible Chat Completions endpoint, streamed, through async-openai.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model::{Deltas, ModelError, ModelMessage, ModelReply, ModelRequest, ToolCall};
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestToolMessage,
    ChatCompletionRequestToolMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, ChatCompletionTool, ChatCompletionToolChoiceOption,
    ChatCompletionTools, CreateChatCompletionRequest, FunctionCall, FunctionObject,
    ToolChoiceOptions,
};
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};

/// Settings of the OpenAI-compatible back-end.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    pub api_key: SecretString,
    /// Base URL including `/v1`.
    pub base_url: String,
    pub model: String,
    /// Longest a single model round may take.
    pub timeout: Duration,
}

/// A Chat Completions client built once per process.
pub struct OpenAiModel {
    client: Client<OpenAIConfig>,
    model: String,
    timeout: Duration,
}

impl OpenAiModel {
    pub fn new(settings: &OpenAiSettings) -> anyhow::Result<Self> {
        let config = OpenAIConfig::new()
            .with_api_key(settings.api_key.expose_secret())
            .with_api_base(settings.base_url.trim_end_matches('/'));
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| anyhow::anyhow!("building the OpenAI HTTP client: {e}"))?;
        Ok(Self {
            client: Client::with_config(config).with_http_client(http),
            model: settings.model.clone(),
            timeout: settings.timeout,
        })
    }

    pub fn model_name(&self) -> &str {
        &self.model
    }

    pub async fn complete(
        &self,
        request: ModelRequest<'_>,
        deltas: &Deltas<'_>,
    ) -> Result<ModelReply, ModelError> {
        let body = self.request(&request);
        match tokio::time::timeout(self.timeout, self.stream(body, deltas)).await {
            Ok(result) => result,
            Err(_) => Err(ModelError::Timeout),
        }
    }

    fn request(&self, request: &ModelRequest<'_>) -> CreateChatCompletionRequest {
        let mut messages = vec![ChatCompletionRequestMessage::System(
            ChatCompletionRequestSystemMessage {
                content: ChatCompletionRequestSystemMessageContent::Text(request.system.to_owned()),
                name: None,
            },
        )];
        messages.extend(request.messages.iter().map(to_openai));
        let tools = request
            .tools
            .iter()
            .map(|spec| {
                ChatCompletionTools::Function(ChatCompletionTool {
                    function: FunctionObject {
                        name: spec.name.to_owned(),
                        description: Some(spec.description.to_owned()),
                        parameters: Some(serde_json::Value::Object(spec.input_schema())),
                        strict: None,
                    },
                })
            })
            .collect();
        let tools: Vec<ChatCompletionTools> = tools;
        let offered = !tools.is_empty();
        CreateChatCompletionRequest {
            model: self.model.clone(),
            messages,
            // The model decides whether to call tools, and may call several at once ("complete
            // 3 and 4", a batch of 25): each call of a round runs, in order.
            tool_choice: offered.then_some(ChatCompletionToolChoiceOption::Mode(
                ToolChoiceOptions::Auto,
            )),
            parallel_tool_calls: offered.then_some(true),
            tools: offered.then_some(tools),
            stream: Some(true),
            ..Default::default()
        }
    }

    async fn stream(
        &self,
        body: CreateChatCompletionRequest,
        deltas: &Deltas<'_>,
    ) -> Result<ModelReply, ModelError> {
        let mut stream = self
            .client
            .chat()
            .create_stream(body)
            .await
            .map_err(service_error)?;
        let mut text = String::new();
        // Tool calls arrive in pieces keyed by index.
        let mut calls: BTreeMap<u32, ToolCall> = BTreeMap::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(service_error)?;
            for choice in chunk.choices {
                if let Some(delta) = choice.delta.content.filter(|d| !d.is_empty()) {
                    text.push_str(&delta);
                    deltas(delta);
                }
                for piece in choice.delta.tool_calls.unwrap_or_default() {
                    let call = calls.entry(piece.index).or_insert_with(|| ToolCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                    if let Some(id) = piece.id {
                        call.id = id;
                    }
                    if let Some(function) = piece.function {
                        if let Some(name) = function.name {
                            call.name.push_str(&name);
                        }
                        if let Some(arguments) = function.arguments {
                            call.arguments.push_str(&arguments);
                        }
                    }
                }
            }
        }
        let tool_calls = calls
            .into_values()
            .enumerate()
            .map(|(n, mut call)| {
                if call.id.is_empty() {
                    call.id = format!("call_{n}");
                }
                call
            })
            .collect();
        Ok(ModelReply { text, tool_calls })
    }
}

fn service_error(err: async_openai::error::OpenAIError) -> ModelError {
    ModelError::Service(err.to_string())
}

fn to_openai(message: &ModelMessage) -> ChatCompletionRequestMessage {
    match message {
        ModelMessage::User(text) => {
            ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
                content: ChatCompletionRequestUserMessageContent::Text(text.clone()),
                name: None,
            })
        }
        ModelMessage::Assistant { text, tool_calls } => {
            ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
                content: (!text.is_empty())
                    .then(|| ChatCompletionRequestAssistantMessageContent::Text(text.clone())),
                tool_calls: (!tool_calls.is_empty()).then(|| {
                    tool_calls
                        .iter()
                        .map(|call| {
                            ChatCompletionMessageToolCalls::Function(
                                ChatCompletionMessageToolCall {
                                    id: call.id.clone(),
                                    function: FunctionCall {
                                        name: call.name.clone(),
                                        arguments: call.arguments.clone(),
                                    },
                                },
                            )
                        })
                        .collect()
                }),
                ..Default::default()
            })
        }
        ModelMessage::Tool { call_id, content } => {
            ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
                content: ChatCompletionRequestToolMessageContent::Text(content.clone()),
                tool_call_id: call_id.clone(),
            })
        }
    }
}
