//! Identities: the devbox forms in dev mode, ES256 tokens signed by trusted keys everywhere,
//! and refusals (never `@no_one`) outside dev mode.

mod support;

use std::collections::HashMap;

use adama_node::identity::{Rules, TrustedKey, read_keys, resolve, verify_token};
use base64::Engine as _;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::json;
use support::{Client, config, run, space};

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).expect("a valid scalar")
}

fn keys_file(key: &SigningKey, issuer: &str) -> String {
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("PEM");
    json!({"keys": [{"issuer": issuer, "kid": 7, "pem": pem}]}).to_string()
}

fn token(key: &SigningKey, claims: serde_json::Value) -> String {
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = url.encode(json!({"alg": "ES256", "typ": "JWT"}).to_string());
    let payload = url.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let signature: Signature = key.sign(signed.as_bytes());
    format!("{signed}.{}", url.encode(signature.to_bytes()))
}

fn trusted() -> Vec<TrustedKey> {
    read_keys(&keys_file(&signing_key(1), "acme")).expect("the keys read")
}

#[test]
fn tokens_signed_by_a_trusted_key_name_their_principal() {
    let keys = trusted();
    let good = token(
        &signing_key(1),
        json!({"sub": "ann", "iss": "acme", "kid": 7}),
    );
    let who = verify_token(&good, &keys).expect("verifies");
    assert_eq!(
        (who.agent.as_str(), who.authority.as_str()),
        ("ann", "acme")
    );
    let strict = Rules {
        dev: false,
        keys: &keys,
        own: None,
    };
    assert_eq!(resolve(&good, strict, &HashMap::new()), Ok(who));
}

#[test]
fn tokens_that_do_not_verify_get_their_codes() {
    let keys = trusted();
    let strict = Rules {
        dev: false,
        keys: &keys,
        own: None,
    };
    let stash = HashMap::new();
    let other_key = token(
        &signing_key(2),
        json!({"sub": "ann", "iss": "acme", "kid": 7}),
    );
    assert_eq!(resolve(&other_key, strict, &stash), Err(916_531));
    let other_issuer = token(
        &signing_key(1),
        json!({"sub": "ann", "iss": "evil", "kid": 7}),
    );
    assert_eq!(resolve(&other_issuer, strict, &stash), Err(916_531));
    let other_kid = token(
        &signing_key(1),
        json!({"sub": "ann", "iss": "acme", "kid": 8}),
    );
    assert_eq!(resolve(&other_kid, strict, &stash), Err(916_531));
    let expired = token(
        &signing_key(1),
        json!({"sub": "ann", "iss": "acme", "kid": 7, "exp": 1000}),
    );
    assert_eq!(resolve(&expired, strict, &stash), Err(403_403));
    let incomplete = token(&signing_key(1), json!({"iss": "acme", "kid": 7}));
    assert_eq!(resolve(&incomplete, strict, &stash), Err(959_500));
    let good = token(
        &signing_key(1),
        json!({"sub": "ann", "iss": "acme", "kid": 7}),
    );
    let tampered = good.replacen('.', ".e30", 1);
    assert!(resolve(&tampered, strict, &stash).is_err());
    assert_eq!(resolve("a.b.c", strict, &stash), Err(995_342));
    assert_eq!(
        resolve("document/chat/room/ann", strict, &stash),
        Err(403_403)
    );
    assert_eq!(resolve("whatever", strict, &stash), Err(403_403));
    // Dev mode: the devbox forms, and @no_one for what does not resolve.
    let dev = Rules {
        dev: true,
        keys: &keys,
        own: None,
    };
    let who = resolve("document/chat/room/ann", dev, &stash).expect("dev form");
    assert_eq!(who.authority, "doc/chat/room");
    assert_eq!(resolve(&other_key, dev, &stash).expect("dev").agent, "?");
    let mut stash = HashMap::new();
    stash.insert("me".to_owned(), "anonymous:bo".to_owned());
    assert_eq!(
        resolve("cookie:me", strict, &stash).expect("stashed").agent,
        "bo"
    );
}

#[test]
fn tokens_of_trusted_keys_honour_exp_and_nbf_with_a_minute_of_clock_leeway() {
    let keys = trusted();
    let stash = HashMap::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let with = |times: serde_json::Value| {
        let mut claims = json!({"sub": "ann", "iss": "acme", "kid": 7});
        for (name, value) in times.as_object().expect("an object") {
            claims[name] = value.clone();
        }
        token(&signing_key(1), claims)
    };
    for dev in [false, true] {
        let rules = Rules {
            dev,
            keys: &keys,
            own: None,
        };
        let agent = |text: &str| resolve(text, rules, &stash).map(|who| who.agent);
        let ann = Ok("ann".to_owned());
        assert_eq!(
            agent(&with(json!({"exp": now + 600, "nbf": now - 600}))),
            ann
        );
        // Within the leeway either way: the issuer's clock may differ by a little.
        assert_eq!(agent(&with(json!({"exp": now - 30}))), ann);
        assert_eq!(agent(&with(json!({"nbf": now + 30}))), ann);
        // A fraction of a second is a NumericDate too.
        assert_eq!(agent(&with(json!({"exp": (now + 600) as f64 + 0.5}))), ann);
        // Past it: refused (in dev mode as well, the token verified but is stale).
        assert_eq!(
            agent(&with(json!({"exp": now - 120}))),
            Err(403_403),
            "dev {dev}"
        );
        assert_eq!(
            agent(&with(json!({"nbf": now + 120}))),
            Err(403_403),
            "dev {dev}"
        );
        // A time that is not a number is a malformed claim.
        assert_eq!(
            agent(&with(json!({"exp": "tomorrow"}))),
            if dev {
                Ok("?".to_owned())
            } else {
                Err(908_303)
            }
        );
    }
}

#[test]
fn outside_dev_mode_a_bad_identity_is_refused_over_the_protocol() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let mut settings = config(data.path(), vec![space("chat", support::CHAT)]);
        settings.dev = false;
        settings.keys = trusted();
        let node = adama_node::start(settings).await.expect("the node starts");
        let mut client = Client::connect(node.address).await;
        client.create_document(1, "chat", "room").await;
        client
            .request(
                json!({"method": "connection/create", "id": 2, "identity": "document/chat/room/ann",
                "space": "chat", "key": "room"}),
            )
            .await;
        assert_eq!(client.reply(2).await["reason"], 403_403);
        let identity = token(
            &signing_key(1),
            json!({"sub": "ann", "iss": "acme", "kid": 7}),
        );
        let first = client.open(3, &identity, "chat", "room").await;
        assert_eq!(first["response"]["delta"]["data"]["lines"], 0, "{first}");
        node.task.abort();
    });
}
