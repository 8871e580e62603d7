//! Token verification: every way a token can be wrong is a 401-class `AuthError`; JWKS keys are
//! fetched from a real HTTP server (wiremock) and picked by `kid`.

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{Value, json};
use smart_todo_shared::auth::{AuthError, Authenticator, mint_hs256};
use smart_todo_shared::config::AuthConfig;
use smart_todo_shared::test_support::{TEST_JWT_SECRET, auth_config, user};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn hs(claims: Value) -> String {
    sign(
        Algorithm::HS256,
        None,
        &claims,
        &EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
}

fn valid_claims() -> Value {
    json!({"sub": "alice", "exp": now() + 600, "iat": now()})
}

async fn verify(auth: &Authenticator, token: &str) -> Result<String, AuthError> {
    auth.verify(token).await.map(|u| u.as_str().to_owned())
}

fn hs_auth() -> Authenticator {
    Authenticator::new(&auth_config()).unwrap()
}

#[tokio::test]
async fn a_valid_hs256_token_yields_its_subject() {
    assert_eq!(
        verify(&hs_auth(), &hs(valid_claims())).await.unwrap(),
        "alice"
    );
}

#[tokio::test]
async fn a_minted_dev_token_verifies() {
    let token = mint_hs256(
        &auth_config(),
        &SecretString::from(TEST_JWT_SECRET),
        &user("bob"),
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(verify(&hs_auth(), &token).await.unwrap(), "bob");
}

#[tokio::test]
async fn bad_hs256_tokens_are_refused_for_the_right_reason() {
    let auth = hs_auth();
    let wrong_key = sign(
        Algorithm::HS256,
        None,
        &valid_claims(),
        &EncodingKey::from_secret(b"another-secret-of-enough-length-000"),
    );
    let unsigned = {
        // alg "none": header and claims, empty signature.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(valid_claims().to_string());
        format!("{header}.{claims}.")
    };
    let cases: Vec<(&str, String, AuthError)> = vec![
        ("not a JWT", "hello".into(), AuthError::Malformed),
        ("three garbage parts", "a.b.c".into(), AuthError::Malformed),
        ("wrong signature", wrong_key, AuthError::BadSignature),
        (
            "expired",
            hs(json!({"sub": "alice", "exp": now() - 3600})),
            AuthError::Expired,
        ),
        (
            "not valid before the future",
            hs(json!({"sub": "alice", "exp": now() + 7200, "nbf": now() + 3600})),
            AuthError::NotYetValid,
        ),
        (
            "no exp",
            hs(json!({"sub": "alice"})),
            AuthError::MissingClaim("exp".into()),
        ),
        (
            "no sub",
            hs(json!({"exp": now() + 600})),
            AuthError::MissingClaim("sub".into()),
        ),
        (
            "empty sub",
            hs(json!({"sub": "", "exp": now() + 600})),
            AuthError::BadSubject,
        ),
        ("alg none", unsigned, AuthError::AlgorithmNotAllowed),
    ];
    for (reason, token, expected) in cases {
        assert_eq!(
            verify(&auth, &token).await.unwrap_err(),
            expected,
            "{reason}"
        );
    }
}

#[tokio::test]
async fn a_tampered_payload_breaks_the_signature() {
    let token = hs(valid_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(json!({"sub": "mallory", "exp": now() + 600}).to_string());
    let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
    assert_eq!(
        verify(&hs_auth(), &tampered).await.unwrap_err(),
        AuthError::BadSignature
    );
}

#[tokio::test]
async fn issuer_and_audience_are_enforced_when_configured() {
    let config = AuthConfig {
        issuer: Some("https://issuer.test".into()),
        audience: Some("smart-todo".into()),
        ..auth_config()
    };
    let auth = Authenticator::new(&config).unwrap();
    let claims =
        |iss: &str, aud: &str| json!({"sub": "alice", "exp": now() + 600, "iss": iss, "aud": aud});
    assert_eq!(
        verify(&auth, &hs(claims("https://issuer.test", "smart-todo")))
            .await
            .unwrap(),
        "alice"
    );
    assert_eq!(
        verify(&auth, &hs(claims("https://evil.test", "smart-todo")))
            .await
            .unwrap_err(),
        AuthError::WrongIssuer
    );
    assert_eq!(
        verify(&auth, &hs(claims("https://issuer.test", "other-app")))
            .await
            .unwrap_err(),
        AuthError::WrongAudience
    );
    let no_iss = json!({"sub": "alice", "exp": now() + 600, "aud": "smart-todo"});
    assert_eq!(
        verify(&auth, &hs(no_iss)).await.unwrap_err(),
        AuthError::MissingClaim("iss".into())
    );
    let no_aud = json!({"sub": "alice", "exp": now() + 600, "iss": "https://issuer.test"});
    assert_eq!(
        verify(&auth, &hs(no_aud)).await.unwrap_err(),
        AuthError::MissingClaim("aud".into())
    );
}

#[tokio::test]
async fn the_authorization_header_must_be_a_bearer_token() {
    let auth = hs_auth();
    let header = |v: &str| http::HeaderValue::from_str(v).unwrap();
    assert_eq!(
        auth.verify_header(None).await.unwrap_err(),
        AuthError::Missing
    );
    assert_eq!(
        auth.verify_header(Some(&header("Basic YWxpY2U6cHc=")))
            .await
            .unwrap_err(),
        AuthError::NotBearer
    );
    assert_eq!(
        auth.verify_header(Some(&header("Bearer ")))
            .await
            .unwrap_err(),
        AuthError::NotBearer
    );
    let ok = format!("bearer {}", hs(valid_claims()));
    assert_eq!(
        auth.verify_header(Some(&header(&ok)))
            .await
            .unwrap()
            .as_str(),
        "alice"
    );
}

/// Keys of an asymmetric issuer, published as a JWKS.
struct Issuer {
    server: MockServer,
    es256: EncodingKey,
    eddsa: EncodingKey,
    rs256: EncodingKey,
    /// The ES256 public key as published (x and y), for the confusion attack.
    es256_public_jwk: Value,
}

fn rsa_key() -> EncodingKey {
    let dir = std::env::temp_dir().join(format!("rsa-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("key.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&file)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    let pem = std::fs::read(&file).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    EncodingKey::from_rsa_pem(&pem).unwrap()
}

impl Issuer {
    async fn start() -> Self {
        let rng = SystemRandom::new();
        let es = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let es256 = EncodingKey::from_ec_der(es.as_ref());
        let eddsa = EncodingKey::from_ed_der(ed.as_ref());
        let rs256 = rsa_key();
        let jwk = |key: &EncodingKey, alg: Algorithm, kid: &str| {
            let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
            jwk.common.key_id = Some(kid.into());
            jwk
        };
        // jsonwebtoken cannot derive an OKP JWK from a PKCS#8 v2 key: publish it as RFC 8037 says.
        let ed_public = Ed25519KeyPair::from_pkcs8(ed.as_ref())
            .unwrap()
            .public_key()
            .as_ref()
            .to_vec();
        let ed_jwk: Jwk = serde_json::from_value(json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "ed-1", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(ed_public),
        }))
        .unwrap();
        let set = JwkSet {
            keys: vec![
                jwk(&es256, Algorithm::ES256, "ec-1"),
                ed_jwk,
                jwk(&rs256, Algorithm::RS256, "rsa-1"),
            ],
        };
        let es256_public_jwk = serde_json::to_value(&set.keys[0]).unwrap();
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/.well-known/jwks.json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(&set))
            .mount(&server)
            .await;
        Self {
            server,
            es256,
            eddsa,
            rs256,
            es256_public_jwk,
        }
    }

    fn authenticator(&self) -> Authenticator {
        Authenticator::new(&AuthConfig {
            jwt_secret: None,
            jwks_url: Some(format!("{}/.well-known/jwks.json", self.server.uri())),
            issuer: Some("https://issuer.test".into()),
            audience: None,
            client_ids: vec![],
        })
        .unwrap()
    }
}

fn issuer_claims(sub: &str) -> Value {
    json!({"sub": sub, "exp": now() + 600, "iss": "https://issuer.test"})
}

#[tokio::test]
async fn jwks_tokens_verify_by_kid_for_rs256_es256_and_eddsa() {
    let issuer = Issuer::start().await;
    let auth = issuer.authenticator();
    let es = sign(
        Algorithm::ES256,
        Some("ec-1"),
        &issuer_claims("carol"),
        &issuer.es256,
    );
    let ed = sign(
        Algorithm::EdDSA,
        Some("ed-1"),
        &issuer_claims("dave"),
        &issuer.eddsa,
    );
    let rs = sign(
        Algorithm::RS256,
        Some("rsa-1"),
        &issuer_claims("erin"),
        &issuer.rs256,
    );
    assert_eq!(verify(&auth, &es).await.unwrap(), "carol");
    assert_eq!(verify(&auth, &ed).await.unwrap(), "dave");
    assert_eq!(verify(&auth, &rs).await.unwrap(), "erin");
    // The key set was fetched once and then served from the cache.
    assert_eq!(issuer.server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn jwks_tokens_with_a_wrong_kid_or_key_are_refused() {
    let issuer = Issuer::start().await;
    let auth = issuer.authenticator();
    let unknown_kid = sign(
        Algorithm::ES256,
        Some("nope"),
        &issuer_claims("carol"),
        &issuer.es256,
    );
    assert_eq!(
        verify(&auth, &unknown_kid).await.unwrap_err(),
        AuthError::UnknownKey
    );
    let no_kid = sign(
        Algorithm::ES256,
        None,
        &issuer_claims("carol"),
        &issuer.es256,
    );
    assert_eq!(
        verify(&auth, &no_kid).await.unwrap_err(),
        AuthError::UnknownKey
    );
    // Signed by the EdDSA key but claiming to be the EC key's token.
    let wrong_alg_for_kid = sign(
        Algorithm::EdDSA,
        Some("ec-1"),
        &issuer_claims("carol"),
        &issuer.eddsa,
    );
    assert_eq!(
        verify(&auth, &wrong_alg_for_kid).await.unwrap_err(),
        AuthError::AlgorithmNotAllowed
    );
    // An unknown kid does not make us fetch the key set again right away.
    let _ = verify(&auth, &unknown_kid).await;
    assert_eq!(issuer.server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_hs256_token_signed_with_the_public_key_is_refused_in_jwks_mode() {
    // The classic HS/RS confusion: use the published public key as an HMAC secret.
    let issuer = Issuer::start().await;
    let auth = issuer.authenticator();
    let public = issuer.es256_public_jwk.to_string();
    let forged = sign(
        Algorithm::HS256,
        Some("ec-1"),
        &issuer_claims("mallory"),
        &EncodingKey::from_secret(public.as_bytes()),
    );
    assert_eq!(
        verify(&auth, &forged).await.unwrap_err(),
        AuthError::AlgorithmNotAllowed
    );
}

#[tokio::test]
async fn an_asymmetric_token_is_refused_in_shared_secret_mode() {
    let issuer = Issuer::start().await;
    let token = sign(
        Algorithm::ES256,
        Some("ec-1"),
        &valid_claims(),
        &issuer.es256,
    );
    assert_eq!(
        verify(&hs_auth(), &token).await.unwrap_err(),
        AuthError::AlgorithmNotAllowed
    );
}

#[tokio::test]
async fn an_unreachable_jwks_is_a_refusal_not_a_crash() {
    let auth = Authenticator::new(&AuthConfig {
        jwt_secret: None,
        jwks_url: Some("http://127.0.0.1:9/jwks.json".into()),
        issuer: None,
        audience: None,
        client_ids: vec![],
    })
    .unwrap();
    let issuer = Issuer::start().await;
    let token = sign(
        Algorithm::ES256,
        Some("ec-1"),
        &valid_claims(),
        &issuer.es256,
    );
    assert_eq!(
        verify(&auth, &token).await.unwrap_err(),
        AuthError::KeysUnavailable
    );
}

/// Short cache timings, so lifetimes and back-offs can be observed in a test.
fn quick() -> smart_todo_shared::auth::JwksTimings {
    smart_todo_shared::auth::JwksTimings {
        refresh_min_interval: Duration::from_millis(0),
        default_ttl: Duration::from_secs(3600),
        min_ttl: Duration::from_millis(0),
        max_ttl: Duration::from_secs(3600),
        failure_backoff: Duration::from_millis(50),
    }
}

fn es256_pair() -> (EncodingKey, Jwk) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = EncodingKey::from_ec_der(pkcs8.as_ref());
    let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    (key, jwk)
}

fn with_kid(mut jwk: Jwk, kid: &str) -> Jwk {
    jwk.common.key_id = Some(kid.into());
    jwk
}

fn jwks_config(server: &MockServer, client_ids: Vec<String>) -> AuthConfig {
    AuthConfig {
        jwt_secret: None,
        jwks_url: Some(format!("{}/jwks", server.uri())),
        issuer: None,
        audience: None,
        client_ids,
    }
}

async fn serve_keys(server: &MockServer, keys: Vec<Jwk>, cache_control: &str) {
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("cache-control", cache_control)
                .set_body_json(JwkSet { keys }),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_rotated_key_set_is_picked_up_and_a_removed_key_is_forgotten() {
    let server = MockServer::start().await;
    let (old_key, old_jwk) = es256_pair();
    let (new_key, new_jwk) = es256_pair();
    serve_keys(&server, vec![with_kid(old_jwk, "old")], "max-age=0").await;
    let auth = Authenticator::with_timings(&jwks_config(&server, vec![]), quick()).unwrap();
    let old = sign(Algorithm::ES256, Some("old"), &valid_claims(), &old_key);
    assert_eq!(verify(&auth, &old).await.unwrap(), "alice");

    // The issuer rotates: the old key is withdrawn (revoked), a new one published.
    serve_keys(&server, vec![with_kid(new_jwk, "new")], "max-age=0").await;
    let new = sign(Algorithm::ES256, Some("new"), &valid_claims(), &new_key);
    assert_eq!(verify(&auth, &new).await.unwrap(), "alice");
    assert_eq!(
        verify(&auth, &old).await.unwrap_err(),
        AuthError::UnknownKey,
        "a key no longer published is not trusted once the set's lifetime is over"
    );
}

#[tokio::test]
async fn a_failed_first_fetch_is_503_and_the_next_request_after_the_backoff_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let (key, jwk) = es256_pair();
    let auth = Authenticator::with_timings(&jwks_config(&server, vec![]), quick()).unwrap();
    let token = sign(Algorithm::ES256, Some("k"), &valid_claims(), &key);
    let err = verify(&auth, &token).await.unwrap_err();
    assert_eq!(err, AuthError::KeysUnavailable);
    assert_eq!(
        smart_todo_shared::ApiError::from(err).status(),
        http::StatusCode::SERVICE_UNAVAILABLE,
        "not a 401 that signs the user out"
    );
    serve_keys(&server, vec![with_kid(jwk, "k")], "max-age=600").await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(verify(&auth, &token).await.unwrap(), "alice");
}

#[tokio::test]
async fn concurrent_verifications_fetch_the_key_set_once() {
    let server = MockServer::start().await;
    let (key, jwk) = es256_pair();
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(JwkSet {
                    keys: vec![with_kid(jwk, "k")],
                })
                .set_delay(Duration::from_millis(200)),
        )
        .mount(&server)
        .await;
    let auth = std::sync::Arc::new(
        Authenticator::with_timings(
            &jwks_config(&server, vec![]),
            smart_todo_shared::auth::JwksTimings::default(),
        )
        .unwrap(),
    );
    let token = sign(Algorithm::ES256, Some("k"), &valid_claims(), &key);
    let checks: Vec<_> = (0..20)
        .map(|_| {
            let (auth, token) = (auth.clone(), token.clone());
            tokio::spawn(async move { auth.verify(&token).await.map(|u| u.as_str().to_owned()) })
        })
        .collect();
    for check in checks {
        assert_eq!(check.await.unwrap().unwrap(), "alice");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn es384_tokens_verify() {
    let server = MockServer::start().await;
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
            .unwrap();
    let key = EncodingKey::from_ec_der(pkcs8.as_ref());
    let jwk = Jwk::from_encoding_key(&key, Algorithm::ES384).unwrap();
    serve_keys(&server, vec![with_kid(jwk, "p384")], "max-age=600").await;
    let auth = Authenticator::new(&jwks_config(&server, vec![])).unwrap();
    let token = sign(Algorithm::ES384, Some("p384"), &valid_claims(), &key);
    assert_eq!(verify(&auth, &token).await.unwrap(), "alice");
}

#[tokio::test]
async fn cognito_id_tokens_and_other_app_clients_are_refused() {
    let server = MockServer::start().await;
    let (key, jwk) = es256_pair();
    serve_keys(&server, vec![with_kid(jwk, "k")], "max-age=600").await;
    let auth = Authenticator::new(&jwks_config(&server, vec!["web-client".into()])).unwrap();
    let token = |extra: Value| {
        let mut claims = valid_claims();
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        sign(Algorithm::ES256, Some("k"), &claims, &key)
    };
    assert_eq!(
        verify(
            &auth,
            &token(json!({"token_use": "access", "client_id": "web-client"}))
        )
        .await
        .unwrap(),
        "alice"
    );
    for (extra, expected, why) in [
        (
            json!({"token_use": "id", "client_id": "web-client"}),
            AuthError::NotAnAccessToken,
            "an ID token",
        ),
        (
            json!({"token_use": "access", "client_id": "other-app"}),
            AuthError::WrongClient,
            "another app client",
        ),
        (
            json!({"token_use": "access"}),
            AuthError::WrongClient,
            "no client",
        ),
    ] {
        assert_eq!(
            verify(&auth, &token(extra)).await.unwrap_err(),
            expected,
            "{why}"
        );
    }
}

#[tokio::test]
async fn an_unknown_critical_header_or_a_disguised_subject_is_refused() {
    let auth = hs_auth();
    let crit = {
        // `crit` must be a JSON array: build the header by hand.
        let head = URL_SAFE_NO_PAD
            .encode(br#"{"alg":"HS256","typ":"JWT","crit":["exp-ext"],"exp-ext":"1"}"#);
        let body = URL_SAFE_NO_PAD.encode(valid_claims().to_string());
        let signing_input = format!("{head}.{body}");
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, TEST_JWT_SECRET.as_bytes()),
            signing_input.as_bytes(),
        );
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    };
    assert_eq!(
        verify(&auth, &crit).await.unwrap_err(),
        AuthError::UnsupportedCritical
    );
    for sub in [" alice ", "\u{202e}alice", "alice\u{200b}"] {
        let token = hs(json!({"sub": sub, "exp": now() + 600}));
        assert_eq!(
            verify(&auth, &token).await.unwrap_err(),
            AuthError::BadSubject,
            "{sub:?}"
        );
    }
}
