//! Bearer-token authentication: HS256 with a shared secret, and asymmetric tokens (RS/PS/ES/EdDSA)
//! verified by `kid` against a JWKS whose keys are cached per process. Algorithms are pinned per key
//! kind, so an HS256 token is never checked with public key material and vice versa.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use http::header::AUTHORIZATION;
use http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::config::AuthConfig;
use crate::domain::UserId;
use crate::error::ApiError;

/// Seconds of clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;
/// A JWKS is fetched again for an unknown `kid` at most this often, so forged kids cannot make us
/// hammer the issuer.
const JWKS_REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(60);
/// Asymmetric algorithms accepted from a JWKS.
const ASYMMETRIC: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// Why a token was refused. Every variant becomes a 401 with `WWW-Authenticate: Bearer`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token: send 'Authorization: Bearer <token>'")]
    Missing,
    #[error("the Authorization header is not a bearer token")]
    NotBearer,
    #[error("the bearer token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not accepted")]
    AlgorithmNotAllowed,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's issuer is not accepted")]
    WrongIssuer,
    #[error("the token's audience is not accepted")]
    WrongAudience,
    #[error("the token lacks the {0} claim")]
    MissingClaim(String),
    #[error("the token's subject is not a valid user id")]
    BadSubject,
    #[error("the token's signing key is unknown")]
    UnknownKey,
    #[error("the token's signing keys could not be fetched")]
    KeysUnavailable,
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        ApiError::Unauthorized(err.to_string())
    }
}

fn classify(err: jsonwebtoken::errors::Error) -> AuthError {
    match err.kind() {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm => AuthError::AlgorithmNotAllowed,
        ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim.clone()),
        _ => AuthError::Malformed,
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    /// Optional here so that a missing `sub` is reported as such, not as a malformed token.
    sub: Option<String>,
}

/// Verifies bearer tokens; built once per process and shared by reference.
pub struct Authenticator {
    hs256: Option<DecodingKey>,
    jwks: Option<JwksCache>,
    issuer: Option<String>,
    audience: Option<String>,
}

struct JwksCache {
    url: String,
    http: reqwest::Client,
    keys: RwLock<CachedKeys>,
}

#[derive(Default)]
struct CachedKeys {
    by_kid: HashMap<String, (DecodingKey, Option<Algorithm>)>,
    fetched_at: Option<Instant>,
}

impl Authenticator {
    pub fn new(config: &AuthConfig) -> anyhow::Result<Self> {
        let jwks = match &config.jwks_url {
            Some(url) => Some(JwksCache {
                url: url.clone(),
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .map_err(|e| anyhow::anyhow!("building the JWKS HTTP client: {e}"))?,
                keys: RwLock::new(CachedKeys::default()),
            }),
            None => None,
        };
        Ok(Self {
            hs256: config
                .jwt_secret
                .as_ref()
                .map(|s| DecodingKey::from_secret(s.expose_secret().as_bytes())),
            jwks,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        })
    }

    /// Verifies a token and returns its subject as the user id.
    pub async fn verify(&self, token: &str) -> Result<UserId, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| header_refusal(token))?;
        let claims = if header.alg == Algorithm::HS256 {
            let key = self.hs256.as_ref().ok_or(AuthError::AlgorithmNotAllowed)?;
            self.decode(token, key, Algorithm::HS256)?
        } else if ASYMMETRIC.contains(&header.alg) {
            let jwks = self.jwks.as_ref().ok_or(AuthError::AlgorithmNotAllowed)?;
            let kid = header.kid.as_deref().ok_or(AuthError::UnknownKey)?;
            let (key, key_alg) = jwks.key(kid).await?;
            if key_alg.is_some_and(|alg| alg != header.alg) {
                return Err(AuthError::AlgorithmNotAllowed);
            }
            self.decode(token, &key, header.alg)?
        } else {
            return Err(AuthError::AlgorithmNotAllowed);
        };
        let sub = claims
            .sub
            .ok_or_else(|| AuthError::MissingClaim("sub".into()))?;
        UserId::parse(&sub).map_err(|_| AuthError::BadSubject)
    }

    fn decode(&self, token: &str, key: &DecodingKey, alg: Algorithm) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(classify)
    }

    /// Reads `Authorization: Bearer …` and verifies it.
    pub async fn verify_header(
        &self,
        value: Option<&http::HeaderValue>,
    ) -> Result<UserId, AuthError> {
        let value = value.ok_or(AuthError::Missing)?;
        let value = value.to_str().map_err(|_| AuthError::NotBearer)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::NotBearer);
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        self.verify(token).await
    }
}

/// Why a header jsonwebtoken could not read was refused: a well-formed header naming an algorithm
/// we do not know (`none` above all) is an algorithm refusal, anything else is malformed.
fn header_refusal(token: &str) -> AuthError {
    use base64::Engine;
    let header = token.split('.').next().unwrap_or_default();
    let alg = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|json| {
            json.get("alg")
                .and_then(|alg| alg.as_str().map(str::to_owned))
        });
    if alg.is_some() {
        AuthError::AlgorithmNotAllowed
    } else {
        AuthError::Malformed
    }
}

impl JwksCache {
    async fn key(&self, kid: &str) -> Result<(DecodingKey, Option<Algorithm>), AuthError> {
        if let Some(found) = self.keys.read().await.by_kid.get(kid) {
            return Ok(found.clone());
        }
        let mut cache = self.keys.write().await;
        // Another request may have refreshed while we waited for the lock.
        if let Some(found) = cache.by_kid.get(kid) {
            return Ok(found.clone());
        }
        let recently = cache
            .fetched_at
            .is_some_and(|at| at.elapsed() < JWKS_REFRESH_MIN_INTERVAL);
        if recently {
            return Err(AuthError::UnknownKey);
        }
        cache.fetched_at = Some(Instant::now());
        let set = self.fetch().await.map_err(|e| {
            tracing::warn!(error = %e, url = %self.url, "fetching the JWKS failed");
            AuthError::KeysUnavailable
        })?;
        cache.by_kid = keys_by_kid(&set);
        cache.by_kid.get(kid).cloned().ok_or(AuthError::UnknownKey)
    }

    async fn fetch(&self) -> anyhow::Result<JwkSet> {
        let response = self.http.get(&self.url).send().await?.error_for_status()?;
        Ok(response.json::<JwkSet>().await?)
    }
}

/// Usable signing keys of a JWKS, by `kid`; keys without a kid or of an unusable kind are skipped.
fn keys_by_kid(set: &JwkSet) -> HashMap<String, (DecodingKey, Option<Algorithm>)> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let alg = match jwk.common.key_algorithm {
                Some(key_alg) => Some(key_alg.to_string().parse::<Algorithm>().ok()?),
                None => None,
            };
            if alg.is_some_and(|a| !ASYMMETRIC.contains(&a)) {
                return None;
            }
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, (key, alg)))
        })
        .collect()
}

/// The verified user of a request: the one way handlers learn who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser(pub UserId);

impl<S> FromRequestParts<S> for AuthUser
where
    Arc<Authenticator>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // A layer (the MCP endpoint's) may have verified the token already.
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        let auth = Arc::<Authenticator>::from_ref(state);
        let user = auth.verify_header(parts.headers.get(AUTHORIZATION)).await?;
        Ok(AuthUser(user))
    }
}

#[derive(Serialize)]
struct MintClaims<'a> {
    sub: &'a str,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

/// Signs an HS256 token for local use (`smart-todo token`, `POST /dev/token`, tests).
pub fn mint_hs256(
    config: &AuthConfig,
    secret: &SecretString,
    user: &UserId,
    ttl: Duration,
) -> anyhow::Result<String> {
    let now = chrono::Utc::now().timestamp();
    let claims = MintClaims {
        sub: user.as_str(),
        iat: now,
        exp: now + ttl.as_secs() as i64,
        iss: config.issuer.as_deref(),
        aud: config.audience.as_deref(),
    };
    let key = EncodingKey::from_secret(secret.expose_secret().as_bytes());
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &key,
    )?)
}
