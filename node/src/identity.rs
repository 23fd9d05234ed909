//! Turning a request's `identity` text into a principal (protocol spec §3).

use std::collections::HashMap;

use base64::Engine as _;
use sha2::{Digest, Sha384};

use crate::engine::Who;
use crate::protocol::codes;

/// How deep `cookie:` identities may refer to each other.
const COOKIE_DEPTH: usize = 8;

/// Resolves an identity. In dev mode the devbox rules apply: `anonymous:<name>`,
/// `document/<space>/<key>/<agent>`, stashed `cookie:<name>`, and `@no_one` for anything
/// else. Outside dev mode only `anonymous:` is accepted without a signature, and anything
/// that does not verify is refused (403403), never turned into `@no_one`.
pub fn resolve(text: &str, dev: bool, stash: &HashMap<String, String>) -> Result<Who, i32> {
    resolve_at(text, dev, stash, 0)
}

fn resolve_at(
    text: &str,
    dev: bool,
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
        return resolve_at(stashed, dev, stash, depth + 1);
    }
    if !dev {
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
