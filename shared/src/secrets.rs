//! Reads the app secret (a JSON object) from AWS Secrets Manager, once, at cold start.

use std::collections::HashMap;

use anyhow::{Context, bail};
use aws_config::BehaviorVersion;

use crate::config::SECRET_KEYS;

/// Fetches the secret named by `arn` and returns the known keys it holds. Values are never logged,
/// and errors never quote the secret's content.
pub async fn fetch_app_secret(arn: &str) -> anyhow::Result<HashMap<String, String>> {
    let sdk_config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk_config);
    let output = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .with_context(|| format!("reading the app secret {arn} from Secrets Manager"))?;
    let Some(text) = output.secret_string() else {
        bail!("the app secret {arn} has no string value: store a JSON object");
    };
    parse_secret(text).with_context(|| format!("the app secret {arn}"))
}

/// Keeps the known string keys of a JSON object secret.
pub fn parse_secret(text: &str) -> anyhow::Result<HashMap<String, String>> {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        bail!("is not a JSON object");
    };
    let mut values = HashMap::new();
    for key in SECRET_KEYS {
        match object.get(key) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(value)) => {
                values.insert(key.to_owned(), value.clone());
            }
            Some(_) => bail!("its key {key} is not a string"),
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_string_keys_are_kept_and_others_ignored() {
        let values =
            parse_secret(r#"{"DATABASE_URL":"postgres://a/b","OTHER":"x","OPENAI_API_KEY":null}"#)
                .unwrap();
        assert_eq!(values.len(), 1);
        assert_eq!(values["DATABASE_URL"], "postgres://a/b");
    }

    #[test]
    fn a_secret_that_is_not_an_object_is_refused_without_quoting_it() {
        let err = parse_secret("hunter2-not-json").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(parse_secret(r#"{"AUTH_JWT_SECRET": 5}"#).is_err());
    }
}
