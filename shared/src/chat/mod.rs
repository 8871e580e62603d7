//! The chat agent: a model interface with two back-ends (OpenAI-compatible, offline) and the
//! stateless turn that runs the bounded tool loop over the task catalog.

pub mod model;
pub mod offline;
pub mod openai;
pub mod turn;

use std::time::Duration;

use anyhow::bail;
use secrecy::SecretString;

pub use model::Model;

/// Default model when `OPENAI_MODEL` is unset: a current small model.
pub const DEFAULT_MODEL: &str = "gpt-4.1-mini";
/// Default endpoint when `OPENAI_BASE_URL` is unset.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Which model back-end answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    OpenAi,
    Offline,
}

/// Chat settings: `CHAT_ENGINE`, `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_MODEL`.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    pub engine: Engine,
    pub openai: Option<openai::OpenAiSettings>,
}

impl ChatConfig {
    /// `CHAT_ENGINE=auto` (default) uses OpenAI when a key is set, else the offline assistant.
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        api_key: Option<SecretString>,
    ) -> anyhow::Result<Self> {
        let engine = match get("CHAT_ENGINE").as_deref().map(str::trim) {
            None | Some("auto") => {
                if api_key.is_some() {
                    Engine::OpenAi
                } else {
                    Engine::Offline
                }
            }
            Some("openai") => Engine::OpenAi,
            Some("offline") => Engine::Offline,
            Some(other) => bail!("CHAT_ENGINE must be auto, openai or offline, not {other:?}"),
        };
        let openai = match (engine, api_key) {
            (Engine::Offline, _) => None,
            (Engine::OpenAi, None) => bail!("CHAT_ENGINE=openai needs OPENAI_API_KEY"),
            (Engine::OpenAi, Some(api_key)) => Some(openai::OpenAiSettings {
                api_key,
                base_url: get("OPENAI_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.into()),
                model: get("OPENAI_MODEL").unwrap_or_else(|| DEFAULT_MODEL.into()),
                timeout: Duration::from_secs(60),
            }),
        };
        Ok(Self { engine, openai })
    }

    /// Builds the back-end once per process.
    pub fn model(&self) -> anyhow::Result<Model> {
        Ok(match &self.openai {
            Some(settings) => Model::OpenAi(Box::new(openai::OpenAiModel::new(settings)?)),
            None => Model::Offline(offline::OfflineModel),
        })
    }
}
