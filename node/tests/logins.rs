//! Identities the node issues are tokens signed with its own key, which verify in and out of
//! dev mode and across restarts; and the deprecated logins (`document/authorize…`,
//! `connection/password`) run the document's `@authorize` and `@password`.

mod support;

use adama_node::Config;
use adama_node::signing::{KEY_FILE, NodeKey};
use base64::Engine as _;
use serde_json::{Value as Json, json};
use support::{Client, config, http_request, run, space};

const LOCKERS: &str = r#"
@static { create { return true; } invent { return false; } }
@connected {
  visitors = visitors + 1;
  last = @who.agent() + " of " + @who.authority();
  return true;
}
record User { public int id; public string name; private string secret; private string hash; }
table<User> _users;
public int visitors;
public string last;
public int changes;
message Add { string name; string secret; string hash; }
channel add(Add a) { _users <- {name: a.name, secret: a.secret, hash: a.hash}; }
message Login { string name; }
@authorization (Login login) {
  if ((iterate _users where name == login.name)[0] as user) {
    return {agent: user.name, hash: user.hash};
  }
  abort;
}
@authorize (username, pw) {
  if ((iterate _users where name == username && secret == pw)[0] as user) {
    return user.name;
  }
  abort;
}
@web get /badge { return {sign: "ann"}; }
@web get /mail { return {sign: "ann@example.com"}; }
@web get /given { return {identity: "anonymous:kim"}; }
@web get /plain { return {identity: "kim"}; }
@password (pw) {
  if ((iterate _users where name == @who.agent())[0] as user) {
    user.secret = pw;
  }
  changes = changes + 1;
}
"#;

/// A node that is not in dev mode: only `anonymous:` and verified tokens get in.
fn strict(data: &std::path::Path) -> Config {
    let mut config = config(data, vec![space("lockers", LOCKERS)]);
    config.dev = false;
    config.domain = Some(("lockers".to_owned(), "hall".to_owned()));
    config
}

/// Creates the locker hall with ann (password `one`, login hash of `s3cret`); the admin's view
/// is stream 1 of the returned client.
async fn hall(node: &adama_node::Running) -> (Client, i64) {
    let mut admin = Client::connect(node.address).await;
    admin.create_document(1, "lockers", "hall").await;
    admin.open(2, "anonymous:admin", "lockers", "hall").await;
    admin
        .request(json!({"method": "documents/hash-password", "id": 3, "password": "s3cret"}))
        .await;
    let hash = admin.reply(3).await["response"]["passwordHash"].clone();
    admin
        .request(
            json!({"method": "connection/send", "id": 4, "connection": 2, "channel": "add",
            "message": {"name": "ann", "secret": "one", "hash": hash}}),
        )
        .await;
    let seq = admin.reply(4).await["response"]["seq"]
        .as_i64()
        .expect("a seq");
    (admin, seq)
}

fn principal_of(node: &adama_node::Running, identity: &str) -> Result<(String, String), i32> {
    adama_node::identity::resolve(identity, node.node.identity_rules(), &Default::default())
        .map(|who| (who.agent, who.authority))
}

/// The request that opens a view with `identity`.
fn open(id: i64, identity: &str) -> Json {
    json!({"method": "connection/create", "id": id, "identity": identity,
        "space": "lockers", "key": "hall", "viewer-state": {}})
}

#[test]
fn a_login_outside_dev_mode_gives_a_signed_token_that_survives_a_restart() {
    let data = tempfile::tempdir().expect("a data directory");
    let mut identity = String::new();
    run(async {
        let node = adama_node::start(strict(data.path()))
            .await
            .expect("the node starts");
        let _admin = hall(&node).await;
        let mut guest = Client::connect(node.address).await;
        guest
            .request(
                json!({"method": "document/authorization", "id": 1, "space": "lockers",
                "key": "hall", "message": {"name": "ann", "password": "s3cret"}}),
            )
            .await;
        let reply = guest.reply(1).await;
        identity = reply["response"]["identity"]
            .as_str()
            .unwrap_or_else(|| panic!("an identity: {reply}"))
            .to_owned();
        assert_eq!(
            identity.split('.').count(),
            3,
            "a compact token: {identity}"
        );
        let claims: Json = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(identity.split('.').nth(1).expect("claims"))
                .expect("base64"),
        )
        .expect("JSON claims");
        assert_eq!(claims["iss"], "doc/lockers/hall");
        assert_eq!(claims["sub"], "ann");
        assert_eq!(claims["kid"], node.node.keys.ring().current.kid);

        // Forged identities are refused with their codes, and the socket stays usable.
        let mut parts: Vec<String> = identity.split('.').map(str::to_owned).collect();
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            json!({"iss": "doc/lockers/hall", "sub": "root", "kid": claims["kid"]}).to_string(),
        );
        let tampered = parts.join(".");
        let foreign = NodeKey::generate()
            .expect("a key")
            .issue("lockers", "hall", "ann");
        for (id, forged, code) in [
            (2, tampered.as_str(), 403_403),
            (3, foreign.as_str(), 403_403),
            (4, "document/lockers/hall/ann", 403_403),
            (5, "a.b", 403_403),
        ] {
            guest.request(open(id, forged)).await;
            let refused = guest.reply(id).await;
            assert_eq!(refused["failure"], id, "{forged}: {refused}");
            assert_eq!(refused["reason"], code, "{forged}: {refused}");
        }

        // The token connects as the principal the document issued it to.
        let opened = guest.open(6, &identity, "lockers", "hall").await;
        assert_eq!(
            opened["response"]["delta"]["data"]["last"], "ann of doc/lockers/hall",
            "{opened}"
        );
        assert_eq!(opened["response"]["delta"]["data"]["visitors"], 2);

        // `sign(agent)` in a web handler issues the same kind of token.
        let (status, _, body) = http_request(
            node.address,
            "GET /lockers/hall/badge HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let signed: Json = serde_json::from_str(&body).expect("JSON");
        assert_eq!(
            principal_of(&node, signed["identity"].as_str().expect("an identity")),
            Ok(("ann".to_owned(), "doc/lockers/hall".to_owned()))
        );
        // Any agent is signed, dots and all; an identity passes as it is, whatever it looks like.
        let address = node.address;
        let answer = |path: &'static str| async move {
            let request = format!(
                "GET /lockers/hall/{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            );
            let (status, _, body) = http_request(address, &request).await;
            assert_eq!(status, 200, "{path}: {body}");
            let answer: Json = serde_json::from_str(&body).expect("JSON");
            answer["identity"].as_str().expect("an identity").to_owned()
        };
        let mail = answer("mail").await;
        assert_eq!(
            principal_of(&node, &mail),
            Ok(("ann@example.com".to_owned(), "doc/lockers/hall".to_owned()))
        );
        assert_eq!(answer("given").await, "anonymous:kim");
        assert_eq!(answer("plain").await, "kim");
        node.task.abort();
    });
    let key_file = data.path().join(KEY_FILE);
    let pem = std::fs::read_to_string(&key_file).expect("the key is kept in the data directory");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "only the owner reads the key");
    }
    run(async {
        let node = adama_node::start(strict(data.path()))
            .await
            .expect("the node restarts");
        let mut guest = Client::connect(node.address).await;
        let opened = guest.open(1, &identity, "lockers", "hall").await;
        assert_eq!(
            opened["response"]["delta"]["data"]["last"], "ann of doc/lockers/hall",
            "a token from before the restart verifies: {opened}"
        );
        // In dev mode too, the node's tokens verify.
        assert_eq!(
            principal_of(&node, &identity),
            Ok(("ann".to_owned(), "doc/lockers/hall".to_owned()))
        );
        node.task.abort();
    });
    run(async {
        let mut config = strict(data.path());
        config.dev = true;
        let node = adama_node::start(config).await.expect("the node starts");
        let mut guest = Client::connect(node.address).await;
        let opened = guest.open(1, &identity, "lockers", "hall").await;
        assert_eq!(
            opened["response"]["delta"]["data"]["last"],
            "ann of doc/lockers/hall"
        );
        node.task.abort();
    });
}

#[test]
fn the_deprecated_logins_run_authorize_and_password() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(strict(data.path()))
            .await
            .expect("the node starts");
        let (mut admin, seq_before) = hall(&node).await;
        let mut guest = Client::connect(node.address).await;

        let authorize = |id: i64, username: &str, password: &str| {
            json!({"method": "document/authorize", "id": id, "space": "lockers", "key": "hall",
                "username": username, "password": password})
        };
        guest.request(authorize(1, "ann", "one")).await;
        let reply = guest.reply(1).await;
        let identity = reply["response"]["identity"].as_str().expect("an identity");
        assert_eq!(
            principal_of(&node, identity),
            Ok(("ann".to_owned(), "doc/lockers/hall".to_owned()))
        );

        // Refusals: each with its code; the socket goes on and nothing changes.
        let refusals = [
            (authorize(2, "ann", "two"), 191_713),
            (authorize(3, "zed", "one"), 191_713),
            (
                json!({"method": "document/authorize", "id": 4, "space": "lockers",
                    "key": "attic", "username": "ann", "password": "one"}),
                625_676,
            ),
            (
                json!({"method": "document/authorize", "id": 5, "space": "nowhere",
                    "key": "hall", "username": "ann", "password": "one"}),
                134_214,
            ),
            (
                json!({"method": "document/authorize", "id": 6, "space": "lockers",
                    "key": "hall", "password": "one"}),
                458_737,
            ),
            (
                json!({"method": "document/authorize", "id": 7, "space": "lockers",
                    "key": "hall", "username": "ann"}),
                465_917,
            ),
            (
                json!({"method": "document/authorize-with-reset", "id": 8, "space": "lockers",
                    "key": "hall", "username": "ann", "password": "one"}),
                466_931,
            ),
            (
                json!({"method": "document/authorize-with-reset", "id": 9, "space": "lockers",
                    "key": "hall", "username": "ann", "password": "nope", "new_password": "x"}),
                191_713,
            ),
            (
                json!({"method": "connection/password", "id": 10, "connection": 77,
                    "username": "ann", "password": "one", "new_password": "x"}),
                462_832,
            ),
        ];
        for (request, code) in refusals {
            let id = request["id"].as_i64().expect("an id");
            guest.request(request.clone()).await;
            let reply = guest.reply(id).await;
            assert_eq!(reply["failure"], id, "{request} -> {reply}");
            assert_eq!(reply["reason"], code, "{request} -> {reply}");
        }

        // The domain form reaches the domain document.
        guest
            .request(json!({"method": "document/authorize-domain", "id": 11,
                "domain": "lockers.example", "username": "ann", "password": "one"}))
            .await;
        let reply = guest.reply(11).await;
        assert!(reply["response"]["identity"].is_string(), "{reply}");

        // A reset changes the password through @password, as ann, in one transaction.
        guest
            .request(json!({"method": "document/authorize-with-reset", "id": 12,
                "space": "lockers", "key": "hall", "username": "ann", "password": "one",
                "new_password": "two"}))
            .await;
        let reply = guest.reply(12).await;
        let identity = reply["response"]["identity"]
            .as_str()
            .unwrap_or_else(|| panic!("an identity: {reply}"))
            .to_owned();
        let changed = admin
            .until(|frame| {
                frame["deliver"] == 2 && frame["response"]["delta"]["data"]["changes"] == 1
            })
            .await;
        assert_eq!(
            changed["response"]["delta"]["seq"].as_i64(),
            Some(seq_before + 1),
            "the refusals changed nothing: {changed}"
        );
        guest.request(authorize(13, "ann", "one")).await;
        assert_eq!(guest.reply(13).await["reason"], 191_713);
        guest.request(authorize(14, "ann", "two")).await;
        assert!(guest.reply(14).await["response"]["identity"].is_string());

        // `connection/password` on an open connection: a wrong password changes nothing.
        guest.open(20, &identity, "lockers", "hall").await;
        let change = |id: i64, password: &str| {
            json!({"method": "connection/password", "id": id, "connection": 20,
                "username": "ann", "password": password, "new_password": "three"})
        };
        guest.request(change(21, "one")).await;
        assert_eq!(guest.reply(21).await["reason"], 191_713);
        guest.request(change(22, "two")).await;
        assert_eq!(guest.reply(22).await["response"], json!({}));
        let changed = admin
            .until(|frame| {
                frame["deliver"] == 2 && frame["response"]["delta"]["data"]["changes"] == 2
            })
            .await;
        assert!(changed["response"]["delta"]["seq"].is_i64());
        guest.request(authorize(23, "ann", "three")).await;
        assert!(guest.reply(23).await["response"]["identity"].is_string());
        node.task.abort();
    });
}

#[test]
fn a_key_file_that_is_not_a_key_stops_the_start_with_its_path() {
    let data = tempfile::tempdir().expect("a data directory");
    let key_file = data.path().join(KEY_FILE);
    std::fs::write(&key_file, "not a key").expect("written");
    let refused = NodeKey::load_or_create(data.path()).expect_err("garbage is no key");
    assert!(
        refused.contains(&key_file.display().to_string()),
        "{refused}"
    );
    assert!(refused.contains("move the file away"), "{refused}");
    run(async {
        let started = adama_node::start(strict(data.path())).await;
        assert!(started.is_err_and(|message| message.contains(KEY_FILE)));
    });
    // Made once, the key is read back the same (its id does not change).
    let fresh = tempfile::tempdir().expect("a data directory");
    let made = NodeKey::load_or_create(fresh.path()).expect("a new key");
    let read = NodeKey::load_or_create(fresh.path()).expect("the same key");
    assert_eq!(made.kid, read.kid);
    let token = made.issue("lockers", "hall", "ann");
    let ring = adama_node::signing::KeyRing::load_or_create(fresh.path()).expect("the ring");
    assert_eq!(ring.current.kid, read.kid);
    let who = adama_node::identity::verify_token_with(&token, &[], Some(&ring))
        .expect("a token of the key verifies with it read back");
    assert_eq!(
        (who.agent.as_str(), who.authority.as_str()),
        ("ann", "doc/lockers/hall")
    );
}

/// Logs ann in through `@authorization`; the token the document issued her.
async fn login(client: &mut Client, id: i64) -> String {
    client
        .request(
            json!({"method": "document/authorization", "id": id, "space": "lockers",
            "key": "hall", "message": {"name": "ann", "password": "s3cret"}}),
        )
        .await;
    let reply = client.reply(id).await;
    reply["response"]["identity"]
        .as_str()
        .unwrap_or_else(|| panic!("an identity: {reply}"))
        .to_owned()
}

fn claims_of(token: &str) -> Json {
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    serde_json::from_slice(
        &url.decode(token.split('.').nth(1).expect("claims"))
            .expect("base64"),
    )
    .expect("JSON claims")
}

fn header_of(token: &str) -> Json {
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    serde_json::from_slice(
        &url.decode(token.split('.').next().expect("a header"))
            .expect("base64"),
    )
    .expect("a JSON header")
}

/// Waits until the running node has read its key files again and `ready` holds of its ring.
async fn until_ring(
    node: &adama_node::Running,
    ready: impl Fn(&adama_node::signing::KeyRing) -> bool,
) {
    for _ in 0..100 {
        if ready(&node.node.keys.ring()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the node did not read its changed key files");
}

#[test]
fn a_rotation_keeps_old_tokens_verifying_until_their_key_is_removed() {
    let data = tempfile::tempdir().expect("a data directory");
    let (mut old, mut new) = (String::new(), String::new());
    run(async {
        let node = adama_node::start(strict(data.path()))
            .await
            .expect("the node starts");
        let _admin = hall(&node).await;
        let mut guest = Client::connect(node.address).await;
        old = login(&mut guest, 1).await;
        let first_kid = claims_of(&old)["kid"].as_i64().expect("a kid claim");
        assert_eq!(
            header_of(&old)["kid"],
            first_kid,
            "the header names the key too"
        );

        // Rotated while the node runs: new logins are signed with the new key.
        let rotation = adama_node::signing::rotate(data.path()).expect("rotated");
        assert_eq!(rotation.retired, first_kid);
        until_ring(&node, |ring| ring.current.kid == rotation.current).await;
        new = login(&mut guest, 2).await;
        assert_eq!(claims_of(&new)["kid"], rotation.current);
        for (id, token) in [(3, &old), (4, &new)] {
            let opened = guest.open(id, token, "lockers", "hall").await;
            assert_eq!(
                opened["response"]["delta"]["data"]["last"], "ann of doc/lockers/hall",
                "{opened}"
            );
        }

        // Removed: the old key's tokens are refused with the keystore's code, in dev mode
        // as well; the new key's still get in.
        let refused = adama_node::signing::remove(data.path(), rotation.current)
            .expect_err("the current key is not removed");
        assert!(refused.contains("rotate first"), "{refused}");
        adama_node::signing::remove(data.path(), first_kid).expect("removed");
        until_ring(&node, |ring| ring.verifying(first_kid).is_none()).await;
        guest.request(open(5, &old)).await;
        assert_eq!(guest.reply(5).await["reason"], 403_403);
        let opened = guest.open(6, &new, "lockers", "hall").await;
        assert!(opened["response"]["delta"].is_object(), "{opened}");
        let missing =
            adama_node::signing::remove(data.path(), first_kid).expect_err("no such key any more");
        assert!(missing.contains("retired keys: none"), "{missing}");
        node.task.abort();
    });
    // After a restart the ring is read from the files: the rotated key still signs and verifies.
    run(async {
        let node = adama_node::start(strict(data.path()))
            .await
            .expect("the node restarts");
        assert_eq!(
            principal_of(&node, &new),
            Ok(("ann".to_owned(), "doc/lockers/hall".to_owned()))
        );
        assert_eq!(principal_of(&node, &old), Err(403_403));
        node.task.abort();
    });
    let (current, retired) = adama_node::signing::list(data.path()).expect("listed");
    assert_eq!(current, claims_of(&new)["kid"].as_i64());
    assert!(retired.is_empty(), "{retired:?}");
}

#[test]
fn issued_tokens_expire_after_the_node_s_lifetime_and_are_then_refused() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(strict(data.path()))
            .await
            .expect("the node starts");
        let _admin = hall(&node).await;
        let mut guest = Client::connect(node.address).await;
        let token = login(&mut guest, 1).await;
        let claims = claims_of(&token);
        let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
        assert_eq!(
            lifetime,
            i64::try_from(adama_node::signing::DEFAULT_TOKEN_LIFETIME.as_secs()).expect("secs"),
            "{claims}"
        );
        node.task.abort();
    });
    let short = tempfile::tempdir().expect("a data directory");
    run(async {
        let mut settings = strict(short.path());
        settings.token_lifetime = std::time::Duration::from_secs(1);
        let node = adama_node::start(settings).await.expect("the node starts");
        let _admin = hall(&node).await;
        let mut guest = Client::connect(node.address).await;
        let token = login(&mut guest, 1).await;
        let claims = claims_of(&token);
        assert_eq!(
            claims["exp"].as_i64(),
            claims["iat"].as_i64().map(|iat| iat + 1)
        );
        // Still valid in the second it was issued, at most: wait until it is over.
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        guest.request(open(2, &token)).await;
        let refused = guest.reply(2).await;
        assert_eq!(refused["reason"], 403_403, "{refused}");
        // Dev mode refuses it as well rather than making it @no_one.
        let dev = adama_node::identity::Rules {
            dev: true,
            ..node.node.identity_rules()
        };
        assert_eq!(
            adama_node::identity::resolve(&token, dev, &Default::default()).map(|who| who.agent),
            Err(403_403)
        );
        node.task.abort();
    });
}
