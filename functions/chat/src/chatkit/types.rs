//! The ChatKit server protocol as types: the requests this server answers and the events and
//! objects it sends, mirroring the models of the official Python server library (`chatkit.types`)
//! for the subset documented in docs/chatkit-protocol.md. The compiler owns the wire format; the
//! conformance layer checks it against the official models.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use smart_todo_shared::domain::SortOrder;

/// Every request: `{type, params, metadata?}`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", content = "params")]
pub enum Request {
    #[serde(rename = "threads.create")]
    CreateThread(CreateParams),
    #[serde(rename = "threads.add_user_message")]
    AddUserMessage(AddUserMessageParams),
    #[serde(rename = "threads.retry_after_item")]
    RetryAfterItem(RetryAfterItemParams),
    #[serde(rename = "threads.get_by_id")]
    GetThread(ThreadParams),
    #[serde(rename = "threads.list")]
    ListThreads(ListThreadsParams),
    #[serde(rename = "items.list")]
    ListItems(ListItemsParams),
    #[serde(rename = "threads.update")]
    UpdateThread(UpdateThreadParams),
    #[serde(rename = "threads.delete")]
    DeleteThread(ThreadParams),
    #[serde(rename = "items.feedback")]
    Feedback(FeedbackParams),
    #[serde(rename = "threads.add_client_tool_output")]
    AddClientToolOutput(Value),
    #[serde(rename = "threads.add_structured_input")]
    AddStructuredInput(AddStructuredInputParams),
    #[serde(rename = "threads.custom_action")]
    CustomAction(Value),
    #[serde(rename = "threads.sync_custom_action")]
    SyncCustomAction(Value),
    #[serde(rename = "attachments.create")]
    CreateAttachment(Value),
    #[serde(rename = "attachments.delete")]
    DeleteAttachment(Value),
    #[serde(rename = "input.transcribe")]
    Transcribe(Value),
}

/// What a user sent: its content parts (text and tags are read; others are ignored).
#[derive(Debug, Default, Deserialize)]
pub struct UserMessageInput {
    #[serde(default)]
    pub content: Vec<UserMessageContent>,
}

/// One part of a user message.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
pub enum UserMessageContent {
    #[serde(rename = "input_text")]
    InputText { text: String },
    #[serde(rename = "input_tag")]
    InputTag {
        #[serde(default)]
        text: String,
    },
    #[serde(other)]
    Other,
}

impl UserMessageInput {
    /// The message's text: its text and tag parts, joined by spaces.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|part| match part {
                UserMessageContent::InputText { text } | UserMessageContent::InputTag { text } => {
                    Some(text.as_str())
                }
                UserMessageContent::Other => None,
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateParams {
    pub input: UserMessageInput,
}

#[derive(Debug, Deserialize)]
pub struct AddUserMessageParams {
    pub thread_id: String,
    pub input: UserMessageInput,
}

#[derive(Debug, Deserialize)]
pub struct RetryAfterItemParams {
    pub thread_id: String,
    pub item_id: String,
}

/// The answers to a structured input item (`chatkit.types.ThreadAddStructuredInputParams`).
#[derive(Debug, Deserialize)]
pub struct AddStructuredInputParams {
    pub thread_id: String,
    pub item_id: String,
    pub input: StructuredInputSubmission,
}

#[derive(Debug, Default, Deserialize)]
pub struct StructuredInputSubmission {
    #[serde(default)]
    pub status: SubmissionStatus,
    /// Keyed by the input's id.
    #[serde(default)]
    pub answers: std::collections::BTreeMap<String, AnswerSubmission>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubmissionStatus {
    #[default]
    Answered,
    Skipped,
}

#[derive(Debug, Default, Deserialize)]
pub struct AnswerSubmission {
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub skipped: bool,
}

impl StructuredInputSubmission {
    /// The text answered to the input `id`; `None` when it was skipped or left empty.
    pub fn answer(&self, id: &str) -> Option<&str> {
        if self.status == SubmissionStatus::Skipped {
            return None;
        }
        let answer = self.answers.get(id).filter(|a| !a.skipped)?;
        answer
            .values
            .first()
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Deserialize)]
pub struct ThreadParams {
    pub thread_id: String,
}

#[derive(Debug, Deserialize)]
pub struct UpdateThreadParams {
    pub thread_id: String,
    pub title: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListThreadsParams {
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub order: Option<SortOrder>,
    #[serde(default)]
    pub after: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ListItemsParams {
    pub thread_id: String,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub order: Option<SortOrder>,
    #[serde(default)]
    pub after: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FeedbackParams {
    pub thread_id: String,
    #[serde(default)]
    pub item_ids: Vec<String>,
    pub kind: FeedbackKind,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedbackKind {
    Positive,
    Negative,
}

/// A timestamp as ChatKit writes it: RFC 3339 with microseconds, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

/// A page of a listing.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl<T> Page<T> {
    pub fn empty() -> Self {
        Self {
            data: vec![],
            has_more: false,
            after: None,
        }
    }
}

/// A thread's status.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ThreadStatus {
    Active,
}

/// Free-form thread metadata; this server reports the state of the newest turn.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ThreadMetadata {
    /// `running`, `done` or `failed`: whether the assistant is still answering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn_status: Option<&'static str>,
}

/// A thread (our conversation); `title` is omitted until set, as ChatKit omits nulls.
#[derive(Debug, Clone, Serialize)]
pub struct Thread {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub created_at: Timestamp,
    pub status: ThreadStatus,
    pub metadata: ThreadMetadata,
    pub items: Page<ThreadItem>,
}

/// A text part of a user message.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename = "input_text")]
pub struct InputText {
    pub text: String,
}

/// A text part of an assistant message.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename = "output_text")]
pub struct OutputText {
    pub text: String,
    pub annotations: Vec<Value>,
}

impl OutputText {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            annotations: vec![],
        }
    }
}

/// Options of a user message (none are used).
#[derive(Debug, Clone, Default, Serialize)]
pub struct InferenceOptions {}

/// A visible message of a thread.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum ThreadItem {
    #[serde(rename = "user_message")]
    UserMessage {
        id: String,
        thread_id: String,
        created_at: Timestamp,
        content: Vec<InputText>,
        attachments: Vec<Value>,
        inference_options: InferenceOptions,
    },
    #[serde(rename = "assistant_message")]
    AssistantMessage {
        id: String,
        thread_id: String,
        created_at: Timestamp,
        content: Vec<OutputText>,
    },
    /// A question with choices: how a change to several tasks asks for a yes.
    #[serde(rename = "structured_input")]
    StructuredInput {
        id: String,
        thread_id: String,
        created_at: Timestamp,
        status: InputStatus,
        inputs: Vec<MultipleChoice>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputStatus {
    Pending,
    Answered,
    Skipped,
}

/// `chatkit.types.StructuredInputMultipleChoice`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename = "multiple_choice")]
pub struct MultipleChoice {
    pub id: String,
    pub question: String,
    pub options: Vec<ChoiceOption>,
    pub multiple: bool,
    /// None while the question is open (omitted, as ChatKit omits nulls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<InputAnswer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChoiceOption {
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputAnswer {
    pub values: Vec<String>,
    pub skipped: bool,
}

/// A change to an item being streamed.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum ItemUpdate {
    #[serde(rename = "assistant_message.content_part.added")]
    ContentPartAdded {
        content_index: usize,
        content: OutputText,
    },
    #[serde(rename = "assistant_message.content_part.text_delta")]
    TextDelta { content_index: usize, delta: String },
    #[serde(rename = "assistant_message.content_part.done")]
    ContentPartDone {
        content_index: usize,
        content: OutputText,
    },
}

/// Stream options the client should honour.
#[derive(Debug, Clone, Serialize)]
pub struct StreamOptions {
    pub allow_cancel: bool,
}

/// The code of an error event: `custom` with a message, or a stock one the client words itself.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum ErrorCode {
    #[serde(rename = "custom")]
    Custom,
    #[serde(rename = "stream.error")]
    StreamError,
}

/// Data of the `tasks_changed` client effect: which tool changed the tasks.
#[derive(Debug, Clone, Serialize)]
pub struct TasksChanged {
    pub tool: String,
}

/// Every event of a streamed response.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum Event {
    #[serde(rename = "thread.created")]
    ThreadCreated { thread: Thread },
    #[serde(rename = "thread.updated")]
    ThreadUpdated { thread: Thread },
    #[serde(rename = "thread.item.added")]
    ItemAdded { item: ThreadItem },
    #[serde(rename = "thread.item.updated")]
    ItemUpdated { item_id: String, update: ItemUpdate },
    #[serde(rename = "thread.item.done")]
    ItemDone { item: ThreadItem },
    #[serde(rename = "thread.item.replaced")]
    ItemReplaced { item: ThreadItem },
    #[serde(rename = "stream_options")]
    StreamOptions { stream_options: StreamOptions },
    #[serde(rename = "progress_update")]
    Progress { text: String },
    #[serde(rename = "client_effect")]
    ClientEffect { name: String, data: TasksChanged },
    #[serde(rename = "error")]
    Error {
        code: ErrorCode,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        allow_retry: bool,
    },
}

/// The empty object that acknowledges a delete or feedback.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_request_is_read_by_its_type_and_params() {
        let request: Request = serde_json::from_value(json!({
            "type": "threads.add_user_message",
            "params": {"thread_id": "t1", "input": {"content": [
                {"type": "input_text", "text": "add"}, {"type": "input_tag", "text": "milk", "id": "x"},
                {"type": "image", "url": "ignored"}
            ], "attachments": [], "inference_options": {}}},
            "metadata": {}
        }))
        .unwrap();
        let Request::AddUserMessage(params) = request else {
            panic!("wrong variant")
        };
        assert_eq!(params.thread_id, "t1");
        assert_eq!(params.input.text(), "add milk");
    }

    #[test]
    fn an_unknown_type_is_refused() {
        let err =
            serde_json::from_value::<Request>(json!({"type": "threads.explode", "params": {}}))
                .unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
    }

    #[test]
    fn events_serialise_in_the_wire_format() {
        let at = Timestamp(
            DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
                .unwrap()
                .to_utc(),
        );
        let event = Event::ItemUpdated {
            item_id: "m1".into(),
            update: ItemUpdate::ContentPartAdded {
                content_index: 0,
                content: OutputText::new(""),
            },
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"type": "thread.item.updated", "item_id": "m1", "update": {
                "type": "assistant_message.content_part.added", "content_index": 0,
                "content": {"type": "output_text", "text": "", "annotations": []}}})
        );
        let item = ThreadItem::UserMessage {
            id: "m2".into(),
            thread_id: "t".into(),
            created_at: at,
            content: vec![InputText { text: "hi".into() }],
            attachments: vec![],
            inference_options: InferenceOptions {},
        };
        assert_eq!(
            serde_json::to_value(Event::ItemDone { item }).unwrap(),
            json!({"type": "thread.item.done", "item": {"type": "user_message", "id": "m2",
                "thread_id": "t", "created_at": "2026-12-02T10:00:00.000000Z",
                "content": [{"type": "input_text", "text": "hi"}], "attachments": [],
                "inference_options": {}}})
        );
        let error = Event::Error {
            code: ErrorCode::Custom,
            message: Some("busy".into()),
            allow_retry: true,
        };
        assert_eq!(
            serde_json::to_value(error).unwrap(),
            json!({"type": "error", "code": "custom", "message": "busy", "allow_retry": true})
        );
    }

    #[test]
    fn a_thread_omits_a_missing_title_and_an_unknown_turn_status() {
        let thread = Thread {
            id: "t".into(),
            title: None,
            created_at: Timestamp(Utc::now()),
            status: ThreadStatus::Active,
            metadata: ThreadMetadata::default(),
            items: Page::empty(),
        };
        let value = serde_json::to_value(thread).unwrap();
        assert!(value.get("title").is_none());
        assert_eq!(value["metadata"], json!({}));
        assert_eq!(value["status"], json!({"type": "active"}));
        assert_eq!(value["items"], json!({"data": [], "has_more": false}));
    }
}
