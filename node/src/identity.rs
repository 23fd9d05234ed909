//! Turning a request's `identity` text into a principal (protocol spec §3).

use std::collections::HashMap;

use base64::Engine as _;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value as Json;
use sha2::{Digest, Sha384};

use crate::engine::Who;
use crate::protocol::codes;
use crate::signing::NodeKey;

/// How deep `cookie:` identities may refer to each other.
const COOKIE_DEPTH: usize = 8;

/// A public key trusted to sign identities of an issuer (`--keys`).
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// The `iss` claim it signs for; it becomes the principal's authority.
    pub issuer: String,
    /// The `kid` claim it answers to; `None` for any.
    pub kid: Option<i64>,
    pub key: VerifyingKey,
}

/// Reads `{"keys":[{"issuer":S,"kid":N,"pem":"-----BEGIN PUBLIC KEY-----…"}]}`.
pub fn read_keys(text: &str) -> Result<Vec<TrustedKey>, String> {
    use p256::pkcs8::DecodePublicKey;
    let json: Json = serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))?;
    let Some(entries) = json.get("keys").and_then(Json::as_array) else {
        return Err(r#"expected {"keys":[{"issuer","kid","pem"}]}"#.into());
    };
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let issuer = entry["issuer"]
                .as_str()
                .ok_or_else(|| format!(r#"key {index}: no "issuer""#))?;
            let pem = entry["pem"]
                .as_str()
                .ok_or_else(|| format!(r#"key {index}: no "pem""#))?;
            let key = VerifyingKey::from_public_key_pem(pem)
                .map_err(|error| format!("key {index}: not a P-256 public key in PEM: {error}"))?;
            Ok(TrustedKey {
                issuer: issuer.to_owned(),
                kid: entry["kid"].as_i64(),
                key,
            })
        })
        .collect()
}

/// How identities are resolved on a node.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub dev: bool,
    pub keys: &'a [TrustedKey],
    /// The node's own key, which verifies the identities its documents issued
    /// (`iss` = `doc/<space>/<key>`).
    pub own: Option<&'a NodeKey>,
}

/// Resolves an identity. `anonymous:<name>`, stashed `cookie:<name>` and ES256 tokens signed
/// by a trusted key are accepted everywhere. In dev mode the devbox rules apply besides:
/// `document/<space>/<key>/<agent>` unsigned, and `@no_one` for anything else. Outside dev mode
/// an identity that does not verify is refused with its code, never turned into `@no_one`.
pub fn resolve(text: &str, rules: Rules<'_>, stash: &HashMap<String, String>) -> Result<Who, i32> {
    resolve_at(text, rules, stash, 0)
}

fn resolve_at(
    text: &str,
    rules: Rules<'_>,
    stash: &HashMap<String, String>,
    depth: usize,
) -> Result<Who, i32> {
    if let Some(name) = text.strip_prefix("anonymous:") {
        return Ok(Who::new(name, "anonymous"));
    }
    if let Some(name) = text.strip_prefix("cookie:")
        && depth < COOKIE_DEPTH
        && let Some(stashed) = stash.get(name)
    {
        return resolve_at(stashed, rules, stash, depth + 1);
    }
    if text.split('.').count() == 3 && !text.contains('/') {
        match verify_token_with(text, rules.keys, rules.own) {
            Ok(who) => return Ok(who),
            Err(_) if rules.dev => return Ok(Who::no_one()),
            Err(code) => return Err(code),
        }
    }
    if !rules.dev {
        return Err(codes::AUTH_FORBIDDEN);
    }
    let parts: Vec<&str> = text.split('/').collect();
    if parts.len() >= 4 && parts[0] == "document" {
        return Ok(Who::new(
            parts[3],
            &format!("doc/{}/{}", parts[1], parts[2]),
        ));
    }
    Ok(Who::no_one())
}

/// Verifies a compact ES256 JWS: `sub` is the agent, `iss` the authority, an integer `kid`
/// claim selects the key, `exp` (seconds) is honoured when present.
pub fn verify_token(token: &str, keys: &[TrustedKey]) -> Result<Who, i32> {
    verify_token_with(token, keys, None)
}

/// As [`verify_token`]; a token a document issued (`iss` = `doc/<space>/<key>`) verifies
/// against the node's own key only, so one issued by another node is refused.
pub fn verify_token_with(
    token: &str,
    keys: &[TrustedKey],
    own: Option<&NodeKey>,
) -> Result<Who, i32> {
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(codes::TOKEN_LAYOUT);
    };
    let decode_json = |part: &str| -> Result<Json, i32> {
        let bytes = url.decode(part).map_err(|_| codes::TOKEN_LAYOUT)?;
        serde_json::from_slice(&bytes).map_err(|_| codes::TOKEN_JSON)
    };
    let header_json = decode_json(header)?;
    if header_json.get("alg").and_then(Json::as_str) != Some("ES256") {
        return Err(codes::TOKEN_LAYOUT);
    }
    let claims = decode_json(payload)?;
    let (Some(agent), Some(issuer)) = (
        claims.get("sub").and_then(Json::as_str),
        claims.get("iss").and_then(Json::as_str),
    ) else {
        return Err(codes::TOKEN_INCOMPLETE);
    };
    let kid = claims.get("kid").and_then(Json::as_i64);
    let signature = url
        .decode(signature)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or(codes::TOKEN_LAYOUT)?;
    let signed = &token[..header.len() + 1 + payload.len()];
    let verified = if issuer.starts_with("doc/") {
        own.is_some_and(|own| {
            kid == Some(own.kid)
                && own
                    .verifying_key()
                    .verify(signed.as_bytes(), &signature)
                    .is_ok()
        })
    } else {
        keys.iter()
            .filter(|key| key.issuer == issuer && (key.kid.is_none() || key.kid == kid))
            .any(|key| key.key.verify(signed.as_bytes(), &signature).is_ok())
    };
    if !verified {
        return Err(codes::KEYSTORE_MISMATCH);
    }
    if let Some(expires) = claims.get("exp").and_then(Json::as_i64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs() as i64);
        if expires < now {
            return Err(codes::AUTH_FORBIDDEN);
        }
    }
    Ok(Who::new(agent, issuer))
}

/// `identity/hash`: Base64 of SHA-384 over `agent:authority/agent`.
pub fn hash(who: &Who) -> String {
    let text = format!("{}:{}/{}", who.agent, who.authority, who.agent);
    base64::engine::general_purpose::STANDARD.encode(Sha384::digest(text.as_bytes()))
}

/// A random opaque token (dedupe tokens).
pub fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut text = String::new();
    for _ in 0..2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos()),
        );
        text.push_str(&format!("{:016x}", hasher.finish()));
    }
    text
}
