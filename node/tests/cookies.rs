//! The cookie routes: `PUT /~stash/…` sets an identity cookie that `@web` requests then use,
//! `/~set/<name>/<value>` sets a plain one.

mod support;

use support::{config, http_request, http_with_body, run, space};

const WHO: &str = r#"
@static { create { return true; } invent { return true; } }
public int x;
@web get /who { return {html: @who.agent() + "@" + @who.authority()}; }
"#;

fn stash(host: &str, origin: bool, body: &str) -> String {
    let mut headers = String::new();
    if origin {
        headers.push_str("Origin: http://app\r\n");
    }
    http_with_body("PUT", "/~stash/web", &headers, body).replace("Host: test", host)
}

fn set_cookie_line(head: &str) -> String {
    head.lines()
        .find(|line| line.starts_with("set-cookie:"))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_stashed_identity_cookie_is_the_identity_of_web_requests() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("who", WHO)]))
            .await
            .expect("the node starts");
        let carl = r#"{"name":"default","identity":"anonymous:carl","max-age":60}"#;
        let (status, head, _) =
            http_request(node.address, &stash("Host: app.test", true, carl)).await;
        assert_eq!(status, 200, "{head}");
        let cookie = set_cookie_line(&head);
        assert!(cookie.contains("id_default=anonymous:carl"), "{cookie}");
        for flag in [
            "httponly",
            "samesite=strict",
            "max-age=60",
            "secure",
            "path=/",
        ] {
            assert!(cookie.contains(flag), "{flag} in {cookie}");
        }
        assert!(
            head.contains("access-control-allow-origin: http://app"),
            "{head}"
        );

        // On localhost pages are plain HTTP: the cookie is not marked secure.
        let (_, head, _) =
            http_request(node.address, &stash("Host: localhost:8080", true, carl)).await;
        assert!(!set_cookie_line(&head).contains("secure"), "{head}");

        // The browser sends it back; the web handler sees the stashed principal.
        let request = "GET /who/doc/who HTTP/1.1\r\nHost: test\r\nCookie: id_default=anonymous:carl\r\nConnection: close\r\n\r\n";
        let (status, _, body) = http_request(node.address, request).await;
        assert_eq!((status, body.as_str()), (200, "carl@anonymous"));

        // Bad input: each with its code, and no cookie.
        for (request, code) in [
            (stash("Host: test", false, carl), "909436"),
            (stash("Host: test", true, "not json"), "909436"),
            (
                stash("Host: test", true, r#"{"identity":"anonymous:x"}"#),
                "453647",
            ),
            (stash("Host: test", true, r#"{"name":"default"}"#), "458759"),
            (
                stash(
                    "Host: test",
                    true,
                    r#"{"name":"a b","identity":"anonymous:x"}"#,
                ),
                "909436",
            ),
            (
                stash(
                    "Host: test",
                    true,
                    r#"{"name":"c","identity":"cookie:default"}"#,
                ),
                "909436",
            ),
        ] {
            let (status, head, body) = http_request(node.address, &request).await;
            assert_eq!((status, body.as_str()), (400, code), "{request}");
            assert!(set_cookie_line(&head).is_empty(), "{head}");
        }
        node.task.abort();
    });
}

#[test]
fn outside_development_mode_only_identities_that_verify_are_stashed() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let mut settings = config(data.path(), vec![space("who", WHO)]);
        settings.dev = false;
        let node = adama_node::start(settings).await.expect("the node starts");
        let forged = r#"{"name":"default","identity":"document/who/doc/root"}"#;
        let (status, _, body) =
            http_request(node.address, &stash("Host: test", true, forged)).await;
        assert_eq!((status, body.as_str()), (400, "403403"));
        let anonymous = r#"{"name":"default","identity":"anonymous:amy"}"#;
        let (status, _, _) =
            http_request(node.address, &stash("Host: test", true, anonymous)).await;
        assert_eq!(status, 200);
        node.task.abort();
    });
}

#[test]
fn a_plain_cookie_is_set_by_its_route() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("who", WHO)]))
            .await
            .expect("the node starts");
        let get = |path: &str| {
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        };
        let (status, head, _) = http_request(node.address, &get("/~set/theme/dark")).await;
        assert_eq!(status, 200);
        let cookie = set_cookie_line(&head);
        assert!(
            cookie.starts_with("set-cookie: skvp_theme=dark;"),
            "{cookie}"
        );
        let (status, head, body) = http_request(node.address, &get("/~set/theme/a%3Bb")).await;
        assert_eq!((status, body.as_str()), (400, "909436"));
        assert!(set_cookie_line(&head).is_empty());
        node.task.abort();
    });
}
