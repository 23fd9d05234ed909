//! Password hashes and `@authorization` logins, over the socket and `PUT /~adama/once`.

mod support;

use serde_json::{Value as Json, json};
use support::{Client, config, http_request, http_with_body, run, space};

const ACCOUNTS: &str = r#"
@static { create { return true; } invent { return true; } send { return true; } }
@connected { return true; }
record User { public int id; public string name; private string hash; }
table<User> _users;
public int logins;
public formula users = _users.size();
message Register { string name; string hash; }
channel register(Register r) { _users <- {name: r.name, hash: r.hash}; }
message Login { string name; }
message Welcome { int n; }
channel welcome(Welcome w) { logins += w.n; }
@authorization (Login login) {
  if ((iterate _users where name == login.name)[0] as user) {
    return {agent: user.name, hash: user.hash, channel: "welcome", success: {n: 1}};
  }
  abort;
}
"#;

const NO_HANDLER: &str = r#"
@static { create { return true; } invent { return true; } }
public int x;
"#;

fn once(body: &Json) -> String {
    http_with_body("PUT", "/~adama/once", "", &body.to_string())
}

#[test]
fn a_password_hash_is_made_over_the_socket_and_over_http() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("accounts", ACCOUNTS)]))
            .await
            .expect("the node starts");
        let mut client = Client::connect(node.address).await;
        client
            .request(json!({"method": "documents/hash-password", "id": 1, "password": "pw"}))
            .await;
        let reply = client.reply(1).await;
        let hash = reply["response"]["passwordHash"].as_str().expect("a hash");
        assert!(hash.starts_with("$s0$e0801$"), "{reply}");

        // Bad input: a missing or ill-typed password has its code; the socket goes on.
        client
            .request(json!({"method": "documents/hash-password", "id": 2}))
            .await;
        assert_eq!(client.reply(2).await["failure"], 2);
        client
            .request(json!({"method": "documents/hash-password", "id": 3, "password": {"x": 1}}))
            .await;
        assert_eq!(client.reply(3).await["reason"], 465_917);
        client
            .request(json!({"method": "documents/create-dedupe", "id": 4}))
            .await;
        assert!(client.reply(4).await["response"]["dedupe"].is_string());

        let (status, head, body) = http_request(
            node.address,
            &once(&json!({"method": "documents/hash-password", "password": "pw"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(head.contains("content-type: application/json"), "{head}");
        let answer: Json = serde_json::from_str(&body).expect("JSON");
        assert!(
            answer["passwordHash"]
                .as_str()
                .is_some_and(|h| h.starts_with("$s0$"))
        );
        let (status, _, body) = http_request(
            node.address,
            &once(&json!({"method": "documents/create-dedupe"})),
        )
        .await;
        assert_eq!(status, 200);
        assert!(body.contains("dedupe"), "{body}");

        for (request, code) in [
            (
                json!({"method": "documents/hash-password"}).to_string(),
                "465917",
            ),
            (json!({"method": "connection/create"}).to_string(), "945213"),
            (json!({"password": "x"}).to_string(), "213708"),
            ("not json".to_owned(), "295116"),
        ] {
            let (status, head, body) = http_request(
                node.address,
                &http_with_body("PUT", "/~adama/once", "", &request),
            )
            .await;
            assert_eq!((status, body.as_str()), (400, code), "{request}");
            assert!(head.contains("text/plain"), "{head}");
        }
        node.task.abort();
    });
}

/// The principal an identity names, as a node outside dev mode resolves it.
fn principal_of(node: &adama_node::Running, identity: &str) -> Result<(String, String), i32> {
    let rules = adama_node::identity::Rules {
        dev: false,
        ..node.node.identity_rules()
    };
    adama_node::identity::resolve(identity, rules, &Default::default())
        .map(|who| (who.agent.to_string(), who.authority.to_string()))
}

async fn hash_of(client: &mut Client, id: i64, password: &str) -> String {
    client
        .request(json!({"method": "documents/hash-password", "id": id, "password": password}))
        .await;
    client.reply(id).await["response"]["passwordHash"]
        .as_str()
        .expect("a hash")
        .to_owned()
}

#[test]
fn the_document_decides_a_login_and_its_identity_connects() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(
            data.path(),
            vec![space("accounts", ACCOUNTS), space("plain", NO_HANDLER)],
        ))
        .await
        .expect("the node starts");
        let mut admin = Client::connect(node.address).await;
        admin.open(1, "anonymous:admin", "accounts", "club").await;
        let hash = hash_of(&mut admin, 2, "s3cret").await;
        admin
            .request(
                json!({"method": "connection/send", "id": 3, "connection": 1,
                "channel": "register", "message": {"name": "ann", "hash": hash}}),
            )
            .await;
        assert!(admin.reply(3).await["response"]["seq"].is_i64());
        let registered = admin
            .until(|frame| {
                frame["deliver"] == 1 && frame["response"]["delta"]["data"]["users"] == 1
            })
            .await;
        let seq_before = registered["response"]["delta"]["seq"]
            .as_i64()
            .expect("a seq");

        // Refusals: each with its code, the socket usable, the document unchanged.
        let login = |id: i64, message: Json| {
            json!({"method": "document/authorization", "id": id, "space": "accounts",
                "key": "club", "message": message})
        };
        let refusals = [
            (
                login(10, json!({"name": "ann", "password": "wrong"})),
                191_713,
            ),
            (
                login(11, json!({"name": "bob", "password": "s3cret"})),
                191_713,
            ),
            (login(12, json!({"name": "ann"})), 191_713),
            (login(13, json!({"name": "ann", "password": 7})), 191_713),
            (login(14, json!("text")), 425_987),
            (
                json!({"method": "document/authorization", "id": 15, "space": "nowhere",
                "key": "club", "message": {"password": "x"}}),
                134_214,
            ),
            (
                json!({"method": "document/authorization", "id": 16, "space": "accounts",
                "key": "missing", "message": {"password": "x"}}),
                625_676,
            ),
            (
                json!({"method": "document/authorization", "id": 17, "space": "plain",
                "key": "k", "message": {"password": "x"}}),
                625_676,
            ),
            (
                json!({"method": "document/authorization-domain", "id": 18, "domain": "x",
                "message": {"password": "x"}}),
                990_417,
            ),
        ];
        let mut guest = Client::connect(node.address).await;
        for (request, code) in refusals {
            let id = request["id"].as_i64().expect("an id");
            guest.request(request.clone()).await;
            let reply = guest.reply(id).await;
            assert_eq!(reply["failure"], id, "{request} -> {reply}");
            assert_eq!(reply["reason"], code, "{request} -> {reply}");
        }
        // A document without a handler refuses every login.
        guest.create_document(19, "plain", "k").await;
        guest
            .request(
                json!({"method": "document/authorization", "id": 20, "space": "plain",
                "key": "k", "message": {"password": "x"}}),
            )
            .await;
        assert_eq!(guest.reply(20).await["reason"], 191_713);

        // The right password: an identity of the document, and the success message ran as it.
        guest
            .request(login(21, json!({"name": "ann", "password": "s3cret"})))
            .await;
        let reply = guest.reply(21).await;
        let issued = reply["response"]["identity"].as_str().expect("an identity");
        assert_eq!(
            principal_of(&node, issued),
            Ok(("ann".to_owned(), "doc/accounts/club".to_owned())),
            "{reply}"
        );
        let welcomed = admin
            .until(|frame| {
                frame["deliver"] == 1 && frame["response"]["delta"]["data"]["logins"] == 1
            })
            .await;
        assert_eq!(
            welcomed["response"]["delta"]["seq"].as_i64(),
            Some(seq_before + 1),
            "the refusals changed nothing: {welcomed}"
        );
        let identity = reply["response"]["identity"]
            .as_str()
            .expect("text")
            .to_owned();
        let opened = guest.open(22, &identity, "accounts", "club").await;
        assert_eq!(opened["response"]["delta"]["data"]["logins"], 1, "{opened}");

        // The same over HTTP.
        let (status, _, body) = http_request(
            node.address,
            &once(
                &json!({"method": "document/authorization", "space": "accounts",
                "key": "club", "message": {"name": "ann", "password": "s3cret"}}),
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let answer: Json = serde_json::from_str(&body).expect("JSON");
        assert_eq!(
            principal_of(&node, answer["identity"].as_str().expect("an identity")),
            Ok(("ann".to_owned(), "doc/accounts/club".to_owned())),
            "{body}"
        );
        let (status, _, body) = http_request(
            node.address,
            &once(
                &json!({"method": "document/authorization", "space": "accounts",
                "key": "club", "message": {"name": "ann", "password": "nope"}}),
            ),
        )
        .await;
        assert_eq!((status, body.as_str()), (400, "191713"));
        node.task.abort();
    });
}
