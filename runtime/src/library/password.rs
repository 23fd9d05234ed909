//! `passwordHash()` and `passwordCheck(password)` on strings (language §6.3, deprecated).
//!
//! A hash is `sha256i$<rounds>$<salt hex>$<digest hex>`: SHA-256 iterated over the salt and the
//! password. The salt comes from the transaction's random generator, so a replayed transaction
//! writes the same hash. The layout names its algorithm and rounds so that a stronger one can be
//! added without breaking stored hashes; hashes made by the reference runtime are not readable.

use super::Host;
use super::args::{Outcome, lift, string, text};
use crate::value::Value;

const ROUNDS: u32 = 1024;
const PREFIX: &str = "sha256i";

/// `password.passwordHash()`.
pub fn password_hash(host: &mut dyn Host, arguments: &[Value]) -> Outcome {
    lift(arguments, |arguments| {
        let random = host.random();
        let salt: Vec<u8> = [random.next_long(), random.next_long()]
            .iter()
            .flat_map(|half| half.to_be_bytes())
            .collect();
        let digest = stretch(&salt, text(arguments, 0).as_bytes(), ROUNDS);
        Ok(string(format!(
            "{PREFIX}${ROUNDS}${}${}",
            hex(&salt),
            hex(&digest)
        )))
    })
}

/// `hash.passwordCheck(password)`: whether the password is the one hashed.
pub fn password_check(_: &mut dyn Host, arguments: &[Value]) -> Outcome {
    lift(arguments, |arguments| {
        Ok(Value::Bool(check(text(arguments, 0), text(arguments, 1))))
    })
}

fn check(hash: &str, password: &str) -> bool {
    let mut parts = hash.split('$');
    let (Some(PREFIX), Some(rounds), Some(salt), Some(digest), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    // Stored hashes are data: cap the work a crafted one can ask for.
    let Some(rounds) = rounds
        .parse::<u32>()
        .ok()
        .filter(|rounds| *rounds <= 1 << 16)
    else {
        return false;
    };
    let Some(salt) = unhex(salt) else {
        return false;
    };
    let expected = hex(&stretch(&salt, password.as_bytes(), rounds));
    // Compare without an early exit so timing does not tell how much matched.
    expected.len() == digest.len()
        && expected
            .bytes()
            .zip(digest.bytes())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

fn stretch(salt: &[u8], password: &[u8], rounds: u32) -> [u8; 32] {
    let mut input = Vec::with_capacity(salt.len() + password.len());
    input.extend_from_slice(salt);
    input.extend_from_slice(password);
    let mut digest = sha256(&input);
    for _ in 1..rounds {
        input.clear();
        input.extend_from_slice(&digest);
        input.extend_from_slice(salt);
        input.extend_from_slice(password);
        digest = sha256(&input);
    }
    digest
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
        .collect()
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 (FIPS 180-4).
pub(crate) fn sha256(message: &[u8]) -> [u8; 32] {
    let mut state: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut padded = message.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&((message.len() as u64).wrapping_mul(8)).to_be_bytes());
    for block in padded.chunks_exact(64) {
        let mut schedule = [0u32; 64];
        for (word, bytes) in schedule.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        for index in 16..64 {
            let w15 = schedule[index - 15];
            let w2 = schedule[index - 2];
            let s0 = w15.rotate_right(7) ^ w15.rotate_right(18) ^ (w15 >> 3);
            let s1 = w2.rotate_right(17) ^ w2.rotate_right(19) ^ (w2 >> 10);
            schedule[index] = schedule[index - 16]
                .wrapping_add(s0)
                .wrapping_add(schedule[index - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state;
        for (word, constant) in schedule.iter().zip(K) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let choice = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(choice)
                .wrapping_add(constant)
                .wrapping_add(*word);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let majority = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(majority);
            (h, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (slot, value) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *slot = slot.wrapping_add(value);
        }
    }
    let mut digest = [0u8; 32];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

#[cfg(test)]
mod tests {
    use super::super::testing::{TestHost, call_with, run, s, same};
    use super::{hex, sha256};
    use crate::value::Value;

    #[test]
    fn sha256_matches_the_standard_vectors() {
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            hex(&sha256(long)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn a_hash_checks_its_password_only() {
        let mut host = TestHost::default();
        let hash = call_with(&mut host, "string.passwordHash", &[s("secret")]).expect("hash");
        assert!(hash.as_str().starts_with("sha256i$1024$"));
        same(
            &run("string.passwordCheck", &[hash.clone(), s("secret")]),
            &Value::Bool(true),
        );
        same(
            &run("string.passwordCheck", &[hash.clone(), s("Secret")]),
            &Value::Bool(false),
        );
        let again = call_with(&mut host, "string.passwordHash", &[s("secret")]).expect("hash");
        assert_ne!(hash.as_str(), again.as_str());
        for broken in [
            "",
            "sha256i$4096$zz$00",
            "sha256i$99999999$00$00",
            "md5$1$00$00",
        ] {
            same(
                &run("string.passwordCheck", &[s(broken), s("x")]),
                &Value::Bool(false),
            );
        }
    }
}
