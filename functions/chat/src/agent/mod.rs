//! The chat agent: a model interface with two back-ends (OpenAI-compatible, offline), its settings,
//! and the turn: a stored, leased, idempotent record that runs the bounded tool loop over the task
//! tool registry (see docs/turns.md).

pub mod honesty;
pub mod model;
pub mod offline;
pub mod openai;
pub mod turn;

use std::time::Duration;

use anyhow::bail;
use smart_todo_shared::config::Sources;

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

/// Chat settings: `CHAT_ENGINE`, `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_MODEL`,
/// `CHAT_RESPONSE_STREAMING`.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    pub engine: Engine,
    pub openai: Option<openai::OpenAiSettings>,
    /// `CHAT_RESPONSE_STREAMING` (default true): the Lambda streams its response (Function URL in
    /// `RESPONSE_STREAM` mode); false behind API Gateway, which only takes buffered responses.
    pub response_streaming: bool,
}

impl ChatConfig {
    /// `CHAT_ENGINE=auto` (default) uses OpenAI when a key is set, else the offline assistant.
    pub fn from_sources(sources: &Sources) -> anyhow::Result<Self> {
        let get = |key: &str| sources.get(key);
        let api_key = sources.secret("OPENAI_API_KEY");
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
        let response_streaming = sources.flag("CHAT_RESPONSE_STREAMING", true)?;
        Ok(Self {
            engine,
            openai,
            response_streaming,
        })
    }

    /// Builds the back-end once per process.
    pub fn model(&self) -> anyhow::Result<Model> {
        Ok(match &self.openai {
            Some(settings) => Model::OpenAi(Box::new(openai::OpenAiModel::new(settings)?)),
            None => Model::Offline(offline::OfflineModel),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn sources(pairs: &[(&str, &str)]) -> Sources {
        let env = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Sources::from_maps(env, HashMap::new())
    }

    #[test]
    fn without_a_key_the_offline_assistant_answers() {
        let config = ChatConfig::from_sources(&sources(&[])).unwrap();
        assert_eq!(config.engine, Engine::Offline);
        assert!(config.response_streaming);
    }

    #[test]
    fn a_key_selects_openai_with_the_default_model() {
        let config = ChatConfig::from_sources(&sources(&[("OPENAI_API_KEY", "sk-x")])).unwrap();
        assert_eq!(config.engine, Engine::OpenAi);
        assert_eq!(config.openai.unwrap().model, DEFAULT_MODEL);
    }

    #[test]
    fn streaming_off_means_buffered() {
        let config =
            ChatConfig::from_sources(&sources(&[("CHAT_RESPONSE_STREAMING", "off")])).unwrap();
        assert!(!config.response_streaming);
    }

    #[test]
    fn bad_values_stop_start_up_naming_the_variable() {
        for (key, value) in [
            ("CHAT_RESPONSE_STREAMING", "sometimes"),
            ("CHAT_ENGINE", "gpt"),
        ] {
            let err = ChatConfig::from_sources(&sources(&[(key, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
        let err = ChatConfig::from_sources(&sources(&[("CHAT_ENGINE", "openai")])).unwrap_err();
        assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
    }
}
