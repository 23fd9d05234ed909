//! Turning a request's `identity` text into a principal (protocol spec §3).

use std::collections::HashMap;

use base64::Engine as _;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value as Json;
use sha2::{Digest, Sha384};

use crate::engine::Who;
use crate::protocol::codes;
use crate::signing::{KeyRing, NodeKeys};

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
    /// The node's own keys, which verify the identities its documents issued
    /// (`iss` = `doc/<space>/<key>`).
    pub own: Option<&'a NodeKeys>,
}

/// How far the clocks of an outside issuer and the node may disagree when `exp` and `nbf` of
/// its tokens are checked. The node's own tokens get none: one clock made and checks them.
pub const CLOCK_LEEWAY_SECONDS: i64 = 60;

/// Resolves an identity. `anonymous:<name>`, stashed `cookie:<name>` and ES256 tokens signed
/// by a trusted key are accepted everywhere. In dev mode the devbox rules apply besides:
/// `document/<space>/<key>/<agent>` unsigned, and `@no_one` for anything else. Outside dev mode
/// an identity that does not verify is refused with its code, never turned into `@no_one`.
/// A token whose signature verifies but whose time is over (or not yet come) is refused in
/// dev mode too: it is certainly stale, and the client library drops an identity refused
/// with 403403 and asks for a new login.
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
        let ring = rules.own.map(NodeKeys::ring);
        match check_token(text, rules.keys, ring.as_deref()) {
            Ok(who) => return Ok(who),
            Err(Refusal::OutOfTime) => return Err(codes::AUTH_FORBIDDEN),
            Err(Refusal::Unverified(_)) if rules.dev => return Ok(Who::no_one()),
            Err(Refusal::Unverified(code)) => return Err(code),
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
/// claim selects the key, `exp` and `nbf` (seconds) are honoured when present.
pub fn verify_token(token: &str, keys: &[TrustedKey]) -> Result<Who, i32> {
    verify_token_with(token, keys, None)
}

/// As [`verify_token`]; a token a document issued (`iss` = `doc/<space>/<key>`) verifies
/// against the node's own keys only (the one its `kid` names, current or retired, and in a
/// cluster the other nodes' public keys), so one issued by a node outside the cluster, or by a
/// key removed from the ring, is refused.
pub fn verify_token_with(
    token: &str,
    keys: &[TrustedKey],
    own: Option<&KeyRing>,
) -> Result<Who, i32> {
    check_token(token, keys, own).map_err(|refusal| match refusal {
        Refusal::Unverified(code) => code,
        Refusal::OutOfTime => codes::AUTH_FORBIDDEN,
    })
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// It is malformed, or no key the node trusts signed it.
    Unverified(i32),
    /// It verifies, but it expired or is not valid yet.
    OutOfTime,
}

fn check_token(token: &str, keys: &[TrustedKey], own: Option<&KeyRing>) -> Result<Who, Refusal> {
    use Refusal::Unverified;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Unverified(codes::TOKEN_LAYOUT));
    };
    let decode_json = |part: &str| -> Result<Json, Refusal> {
        let bytes = url
            .decode(part)
            .map_err(|_| Unverified(codes::TOKEN_LAYOUT))?;
        serde_json::from_slice(&bytes).map_err(|_| Unverified(codes::TOKEN_JSON))
    };
    let header_json = decode_json(header)?;
    if header_json.get("alg").and_then(Json::as_str) != Some("ES256") {
        return Err(Unverified(codes::TOKEN_LAYOUT));
    }
    let claims = decode_json(payload)?;
    let (Some(agent), Some(issuer)) = (
        claims.get("sub").and_then(Json::as_str),
        claims.get("iss").and_then(Json::as_str),
    ) else {
        return Err(Unverified(codes::TOKEN_INCOMPLETE));
    };
    // The protocol puts `kid` in the claims; a token made by a JOSE library has it in the
    // header.
    let kid = claims
        .get("kid")
        .or_else(|| header_json.get("kid"))
        .and_then(Json::as_i64);
    let signature = url
        .decode(signature)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or(Unverified(codes::TOKEN_LAYOUT))?;
    let signed = &token[..header.len() + 1 + payload.len()];
    let own_token = issuer.starts_with("doc/");
    let verified = if own_token {
        own.zip(kid)
            .and_then(|(ring, kid)| ring.verifying(kid))
            .is_some_and(|key| key.verify(signed.as_bytes(), &signature).is_ok())
    } else {
        keys.iter()
            .filter(|key| key.issuer == issuer && (key.kid.is_none() || key.kid == kid))
            .any(|key| key.key.verify(signed.as_bytes(), &signature).is_ok())
    };
    if !verified {
        // A token a document issued that no key of the node verifies (issued by a node whose
        // data is gone, or by a key since removed) is stale rather than foreign: 403403 is the
        // code on which a browser client forgets a stored identity and asks for a new one
        // (spec §8.2). Another authority's token that its keys refuse is a keystore mismatch.
        return Err(Unverified(if own_token {
            codes::AUTH_FORBIDDEN
        } else {
            codes::KEYSTORE_MISMATCH
        }));
    }
    let leeway = if own_token { 0 } else { CLOCK_LEEWAY_SECONDS };
    let now = crate::signing::unix_now();
    let time = |name: &str| -> Result<Option<i64>, Refusal> {
        match claims.get(name) {
            None | Some(Json::Null) => Ok(None),
            // NumericDate may carry a fraction of a second; whole seconds are enough here.
            Some(Json::Number(number)) => Ok(number
                .as_i64()
                .or_else(|| number.as_f64().map(|seconds| seconds as i64))),
            Some(_) => Err(Unverified(codes::TOKEN_JSON)),
        }
    };
    if let Some(expires) = time("exp")?
        && now >= expires.saturating_add(leeway)
    {
        return Err(Refusal::OutOfTime);
    }
    if let Some(not_before) = time("nbf")?
        && now < not_before.saturating_sub(leeway)
    {
        return Err(Refusal::OutOfTime);
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
