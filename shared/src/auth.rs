//! Bearer-token authentication: HS256 with a shared secret, and asymmetric tokens (RS/PS/ES/EdDSA)
//! verified by `kid` against a JWKS. Algorithms are pinned per key kind, so an HS256 token is never
//! checked with public key material and vice versa. The JWKS is cached for its `Cache-Control`
//! max-age (else an hour), fetched by one request at a time outside the cache's lock, and a failed
//! fetch is a 503 (the keys are unavailable), never a 401 that signs people out.

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
/// How the JWKS cache behaves in time.
#[derive(Debug, Clone, Copy)]
pub struct JwksTimings {
    /// An unknown `kid` fetches the key set again at most this often (forged kids are cheap).
    pub refresh_min_interval: Duration,
    /// How long a key set is trusted when its response names no max-age.
    pub default_ttl: Duration,
    /// Bounds on the max-age an issuer sends.
    pub min_ttl: Duration,
    pub max_ttl: Duration,
    /// After a failed fetch, requests in this window answer 503 without fetching again.
    pub failure_backoff: Duration,
}

impl Default for JwksTimings {
    fn default() -> Self {
        Self {
            refresh_min_interval: Duration::from_secs(60),
            default_ttl: Duration::from_secs(3600),
            min_ttl: Duration::from_secs(30),
            max_ttl: Duration::from_secs(24 * 3600),
            failure_backoff: Duration::from_secs(1),
        }
    }
}
/// Asymmetric algorithms accepted from a JWKS.
const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
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
    #[error("the token has a critical header extension this server does not understand")]
    UnsupportedCritical,
    #[error("the token is not an access token")]
    NotAnAccessToken,
    #[error("the token was issued to an application this API does not accept")]
    WrongClient,
    #[error("send exactly one Authorization header")]
    DuplicateHeader,
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            // Not the caller's fault: their token may be fine once the keys can be read.
            AuthError::KeysUnavailable => ApiError::KeysUnavailable,
            AuthError::DuplicateHeader => ApiError::BadRequest(err.to_string()),
            _ => ApiError::Unauthorized(err.to_string()),
        }
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
    /// Cognito: `access` or `id`; only access tokens are accepted when present.
    token_use: Option<String>,
    /// Cognito access tokens name their app client here (they carry no `aud`).
    client_id: Option<String>,
    /// OpenID Connect: the party the token was issued to.
    azp: Option<String>,
}

/// Verifies bearer tokens; built once per process and shared by reference.
pub struct Authenticator {
    hs256: Option<DecodingKey>,
    jwks: Option<JwksCache>,
    issuer: Option<String>,
    audience: Option<String>,
    client_ids: Vec<String>,
}

struct JwksCache {
    url: String,
    timings: JwksTimings,
    http: reqwest::Client,
    keys: RwLock<CachedKeys>,
    /// Held by the one request fetching the key set; others wait for its result, not the lock.
    fetching: tokio::sync::Mutex<()>,
}

type KeysByKid = HashMap<String, (DecodingKey, Option<Algorithm>)>;

#[derive(Default)]
struct CachedKeys {
    by_kid: KeysByKid,
    /// When the current keys were fetched, and for how long they are trusted.
    fetched_at: Option<Instant>,
    ttl: Duration,
    failed_at: Option<Instant>,
}

impl CachedKeys {
    fn fresh(&self) -> bool {
        self.fetched_at.is_some_and(|at| at.elapsed() < self.ttl)
    }
}

impl Authenticator {
    pub fn new(config: &AuthConfig) -> anyhow::Result<Self> {
        Self::with_timings(config, JwksTimings::default())
    }

    /// Like [`Authenticator::new`] with other JWKS cache timings (tests shorten them).
    pub fn with_timings(config: &AuthConfig, timings: JwksTimings) -> anyhow::Result<Self> {
        let jwks = match &config.jwks_url {
            Some(url) => Some(JwksCache {
                url: url.clone(),
                timings,
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .map_err(|e| anyhow::anyhow!("building the JWKS HTTP client: {e}"))?,
                keys: RwLock::new(CachedKeys::default()),
                fetching: tokio::sync::Mutex::new(()),
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
            client_ids: config.client_ids.clone(),
        })
    }

    /// Verifies a token and returns its subject as the user id.
    pub async fn verify(&self, token: &str) -> Result<UserId, AuthError> {
        // RFC 7515 §4.1.11: a `crit` extension the recipient does not understand must be refused,
        // and this server understands none.
        if raw_header(token).is_some_and(|h| h.get("crit").is_some()) {
            return Err(AuthError::UnsupportedCritical);
        }
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
        if claims.token_use.as_deref().is_some_and(|u| u != "access") {
            return Err(AuthError::NotAnAccessToken);
        }
        if !self.client_ids.is_empty() {
            let client = claims.client_id.as_deref().or(claims.azp.as_deref());
            if !client.is_some_and(|c| self.client_ids.iter().any(|allowed| allowed == c)) {
                return Err(AuthError::WrongClient);
            }
        }
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

/// The token's header as JSON, when it is readable.
fn raw_header(token: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Why a header jsonwebtoken could not read was refused: a well-formed header naming an algorithm
/// we do not know (`none` above all) is an algorithm refusal, anything else is malformed.
fn header_refusal(token: &str) -> AuthError {
    let alg = raw_header(token).and_then(|json| {
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
        if let Some(found) = self.cached(kid).await? {
            return Ok(found);
        }
        // One request fetches; the others wait here, then read what it fetched. Verifications of
        // known keys never wait: they only take the read lock.
        let _fetching = self.fetching.lock().await;
        if let Some(found) = self.cached(kid).await? {
            return Ok(found);
        }
        match self.fetch().await {
            Ok((set, ttl)) => {
                let mut cache = self.keys.write().await;
                cache.by_kid = keys_by_kid(&set);
                cache.fetched_at = Some(Instant::now());
                cache.ttl = ttl;
                cache.failed_at = None;
                cache.by_kid.get(kid).cloned().ok_or(AuthError::UnknownKey)
            }
            Err(err) => {
                tracing::warn!(error = %err, url = %self.url, "fetching the JWKS failed");
                let mut cache = self.keys.write().await;
                cache.failed_at = Some(Instant::now());
                // Keys past their lifetime still beat signing everybody out while the issuer is down.
                match cache.by_kid.get(kid) {
                    Some(found) => Ok(found.clone()),
                    None => Err(AuthError::KeysUnavailable),
                }
            }
        }
    }

    /// The key from the cache when no fetch is due: `Ok(None)` means fetch.
    async fn cached(
        &self,
        kid: &str,
    ) -> Result<Option<(DecodingKey, Option<Algorithm>)>, AuthError> {
        let cache = self.keys.read().await;
        if cache.fresh() {
            if let Some(found) = cache.by_kid.get(kid) {
                return Ok(Some(found.clone()));
            }
            // An unknown kid refetches a fresh set at most once a minute (forged kids are cheap).
            if cache
                .fetched_at
                .is_some_and(|at| at.elapsed() < self.timings.refresh_min_interval)
            {
                return Err(AuthError::UnknownKey);
            }
        }
        if cache
            .failed_at
            .is_some_and(|at| at.elapsed() < self.timings.failure_backoff)
        {
            return match cache.by_kid.get(kid) {
                Some(found) => Ok(Some(found.clone())),
                None => Err(AuthError::KeysUnavailable),
            };
        }
        Ok(None)
    }

    async fn fetch(&self) -> anyhow::Result<(JwkSet, Duration)> {
        let response = self.http.get(&self.url).send().await?.error_for_status()?;
        let ttl = max_age(response.headers(), &self.timings).unwrap_or(self.timings.default_ttl);
        Ok((response.json::<JwkSet>().await?, ttl))
    }
}

/// The `max-age` of a `Cache-Control` header, kept within sane bounds; `no-cache`/`no-store`
/// mean the shortest lifetime.
fn max_age(headers: &http::HeaderMap, timings: &JwksTimings) -> Option<Duration> {
    let value = headers.get(http::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut age = None;
    for directive in value.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-cache" || directive == "no-store" {
            return Some(timings.min_ttl);
        }
        if let Some(seconds) = directive.strip_prefix("max-age=") {
            age = seconds
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age.map(|a| a.clamp(timings.min_ttl, timings.max_ttl))
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
        // With two headers, which one counts would depend on the proxy in front: refuse both.
        let mut values = parts.headers.get_all(AUTHORIZATION).iter();
        let first = values.next();
        if values.next().is_some() {
            return Err(AuthError::DuplicateHeader.into());
        }
        let user = auth.verify_header(first).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CACHE_CONTROL, value.parse().unwrap());
        headers
    }

    #[test]
    fn a_jwks_lifetime_comes_from_cache_control_within_bounds() {
        let t = JwksTimings::default();
        assert_eq!(
            max_age(&headers("public, max-age=600"), &t),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age(&headers("max-age=1"), &t), Some(t.min_ttl));
        assert_eq!(max_age(&headers("max-age=99999999"), &t), Some(t.max_ttl));
        assert_eq!(max_age(&headers("no-store"), &t), Some(t.min_ttl));
        assert_eq!(max_age(&headers("public"), &t), None);
        assert_eq!(max_age(&http::HeaderMap::new(), &t), None);
    }

    #[test]
    fn unavailable_keys_are_a_503_and_a_second_header_a_400() {
        assert_eq!(
            ApiError::from(AuthError::KeysUnavailable).status(),
            http::StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            ApiError::from(AuthError::DuplicateHeader).status(),
            http::StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ApiError::from(AuthError::UnsupportedCritical).status(),
            http::StatusCode::UNAUTHORIZED
        );
    }
}
