//! Password hashes as the protocol gives them (`documents/hash-password`, and the hash an
//! `@authorization` handler returns): scrypt with N=16384, r=8, p=1, written in the modular
//! format `$s0$e0801$<salt base64>$<key base64>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// log2(N), r and p of the hashes the node makes.
const LOG_N: u8 = 14;
const R: u32 = 8;
const P: u32 = 1;
const SALT_BYTES: usize = 16;
const KEY_BYTES: usize = 32;

/// The largest costs a hash to check may name; beyond them a hash is refused rather than let
/// one request hold a core for seconds.
const MAX_LOG_N: u8 = 17;
const MAX_R: u32 = 16;
const MAX_P: u32 = 4;

/// Hashes a password with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let mut salt = [0u8; SALT_BYTES];
    getrandom::fill(&mut salt).map_err(|error| format!("no random salt: {error}"))?;
    let key = derive(password, &salt, LOG_N, R, P, KEY_BYTES)?;
    let params = (u32::from(LOG_N) << 16) | (R << 8) | P;
    Ok(format!(
        "$s0${params:x}${}${}",
        STANDARD.encode(salt),
        STANDARD.encode(key)
    ))
}

/// Whether `password` is the one `hash` was made of. A hash that is not in the format, or
/// names costs above the bounds, matches nothing.
pub fn check(password: &str, hash: &str) -> bool {
    let Some(parsed) = parse(hash) else {
        return false;
    };
    let length = parsed.key.len();
    match derive(
        password,
        &parsed.salt,
        parsed.log_n,
        parsed.r,
        parsed.p,
        length,
    ) {
        Ok(key) => constant_time_equal(&key, &parsed.key),
        Err(_) => false,
    }
}

/// A hash in the modular format, read.
struct Parsed {
    log_n: u8,
    r: u32,
    p: u32,
    salt: Vec<u8>,
    key: Vec<u8>,
}

fn parse(hash: &str) -> Option<Parsed> {
    let mut parts = hash.split('$');
    let (empty, scheme, params, salt, key) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if !empty.is_empty() || scheme != "s0" || parts.next().is_some() {
        return None;
    }
    let params = u32::from_str_radix(params, 16).ok()?;
    let log_n = u8::try_from(params >> 16).ok()?;
    let (r, p) = ((params >> 8) & 0xff, params & 0xff);
    if log_n == 0 || log_n > MAX_LOG_N || r == 0 || r > MAX_R || p == 0 || p > MAX_P {
        return None;
    }
    let salt = STANDARD.decode(salt).ok()?;
    let key = STANDARD.decode(key).ok()?;
    if key.is_empty() || key.len() > 64 {
        return None;
    }
    Some(Parsed {
        log_n,
        r,
        p,
        salt,
        key,
    })
}

fn derive(
    password: &str,
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
    len: usize,
) -> Result<Vec<u8>, String> {
    let params = scrypt::Params::new(log_n, r, p, len).map_err(|error| error.to_string())?;
    let mut key = vec![0u8; len];
    scrypt::scrypt(password.as_bytes(), salt, &params, &mut key)
        .map_err(|error| error.to_string())?;
    Ok(key)
}

fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::{check, hash};

    #[test]
    fn a_hash_checks_its_own_password_only() {
        let made = hash("open sesame").expect("a hash");
        assert!(made.starts_with("$s0$e0801$"), "{made}");
        assert!(check("open sesame", &made));
        assert!(!check("open sesame!", &made));
        assert_ne!(hash("open sesame").expect("a hash"), made, "salts differ");
    }

    #[test]
    fn a_known_hash_of_the_format_checks() {
        // Made with N=16, r=1, p=1 so that the test is quick; the format carries the costs.
        let made = {
            let key = super::derive("pw", b"0123456789abcdef", 4, 1, 1, 32).expect("a key");
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            format!(
                "$s0$40101${}${}",
                b64.encode(b"0123456789abcdef"),
                b64.encode(key)
            )
        };
        assert!(check("pw", &made));
        assert!(!check("pW", &made));
    }

    #[test]
    fn malformed_or_too_costly_hashes_match_nothing() {
        for bad in [
            "",
            "plain",
            "$s0$e0801$!!$AAAA",
            "$s1$e0801$AAAA$AAAA",
            "$s0$zz$AAAA$AAAA",
            "$s0$1f0801$AAAA$AAAA",
            "$s0$e0801$AAAA$AAAA$extra",
        ] {
            assert!(!check("x", bad), "{bad}");
        }
    }
}
