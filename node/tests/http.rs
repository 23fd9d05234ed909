//! HTTP on the node's port: the fixed routes, `/metrics`, the page, and `@web` handlers.

mod support;

use support::{config, run, space};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NOTES: &str = r#"
@static {
  create { return true; }
  invent { return true; }
}
message Note {
  string text;
}
public string last;
public int count;
@web get /hello/$name:string {
  return {html: "hello " + name, cors: true};
}
@web get /count {
  return {json: {count: count}};
}
@web put /note (Note n) {
  last = n.text;
  count = count + 1;
  return {json: {saved: n.text}};
}
"#;

/// One HTTP/1.1 request over a fresh connection: (status, headers, body).
async fn http(address: std::net::SocketAddr, request: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("reads");
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, head.to_lowercase(), body.to_owned())
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\nOrigin: http://app\r\nConnection: close\r\n\r\n")
}

fn put(path: &str, body: &str) -> String {
    format!(
        "PUT {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn fixed_routes_metrics_and_web_handlers_answer() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("notes", NOTES)]))
            .await
            .expect("the node starts");
        let address = node.address;
        let (status, _, body) = http(address, &get("/~health_check_lb")).await;
        assert_eq!(status, 200);
        assert!(body.starts_with("HEALTHY:"), "{body}");
        let (status, _, body) = http(address, &get("/~version")).await;
        assert_eq!((status, body.as_str()), (200, adama_node::socket::VERSION));
        let (status, head, _) = http(
            address,
            "PUT /~bm/r HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status, 200);
        assert!(head.contains("access-control-allow-origin"), "{head}");
        let (status, _, _) = http(address, &get("/.env")).await;
        assert_eq!(status, 410);
        let (status, _, body) = http(address, &get("/")).await;
        assert_eq!(status, 200);
        assert!(
            body.contains(r#"const SPACES = ["notes"];"#),
            "the page names the spaces"
        );

        // @web: an invented document answers GETs and takes PUTs as transactions.
        let (status, head, body) = http(address, &get("/notes/k1/hello/ann")).await;
        assert_eq!((status, body.as_str()), (200, "hello ann"), "{head}");
        assert!(
            head.contains("access-control-allow-origin: http://app"),
            "{head}"
        );
        let (status, head, body) =
            http(address, &put("/notes/k1/note", r#"{"text":"first"}"#)).await;
        assert_eq!(status, 200, "{head}{body}");
        assert!(head.contains("application/json"), "{head}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["saved"],
            "first"
        );
        let (_, _, body) = http(address, &get("/notes/k1/count")).await;
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["count"],
            1
        );
        let (status, _, body) = http(address, &get("/notes/k1/missing")).await;
        assert_eq!((status, body.as_str()), (404, "error:133308"));
        let (status, _, body) = http(address, &put("/notes/k1/note", "[1,2")).await;
        assert_eq!((status, body.as_str()), (500, ""));
        let (status, _, body) = http(address, &get("/nowhere/k1/x")).await;
        assert_eq!((status, body.as_str()), (500, "error:134214"));

        let (status, head, body) = http(address, &get("/metrics")).await;
        assert_eq!(status, 200);
        assert!(head.contains("text/plain"), "{head}");
        for metric in [
            "adama_documents_loaded 1",
            "adama_transactions_total{outcome=\"committed\"}",
            "adama_store_fsyncs_total",
            "adama_store_bytes_written_total",
            "adama_commit_latency_seconds_bucket{le=\"+Inf\"}",
        ] {
            assert!(body.contains(metric), "{metric} in {body}");
        }
        node.task.abort();
    });
}

#[test]
fn a_request_at_the_socket_path_that_is_no_opening_handshake_gets_a_clear_refusal() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("notes", NOTES)]))
            .await
            .expect("the node starts");
        let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
        let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
        let cases = [
            // A browser opening the URL as a page.
            (
                "GET /~s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".to_owned(),
                400,
                "upgrade",
            ),
            (
                format!(
                    "POST /~s HTTP/1.1\r\nHost: test\r\n{upgrade}{key}Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
                ),
                405,
                "get",
            ),
            (
                format!(
                    "GET /~s HTTP/1.1\r\nHost: test\r\n{upgrade}Sec-WebSocket-Version: 13\r\n\r\n"
                ),
                400,
                "sec-websocket-key",
            ),
            (
                format!(
                    "GET /~s HTTP/1.1\r\nHost: test\r\n{upgrade}{key}Sec-WebSocket-Version: 8\r\n\r\n"
                ),
                400,
                "13",
            ),
        ];
        for (request, status, reason) in cases {
            let mut stream = tokio::net::TcpStream::connect(node.address)
                .await
                .expect("connects");
            stream.write_all(request.as_bytes()).await.expect("writes");
            let mut response = vec![0u8; 4096];
            let read = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                stream.read(&mut response),
            )
            .await
            .expect("an answer")
            .expect("reads");
            let text = String::from_utf8_lossy(&response[..read]).to_lowercase();
            assert!(
                text.starts_with(&format!("http/1.1 {status}")),
                "{request:?}: {text}"
            );
            assert!(text.contains(reason), "{request:?}: {text}");
        }
        // The node goes on serving.
        let (status, _, body) = support::http_request(
            node.address,
            "GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        node.task.abort();
    });
}

const PREFLIGHT: &str = r#"
@static {
  create { return true; }
  invent { return true; }
}
public int count;
@web options /open { return {cors: true}; }
@web options /closed { return {cors: false}; }
@web get /hello { return {html: "hello"}; }
@web get /files/$rest* { return {html: "file " + rest}; }
@web put /big (Big b) { count = b.text.length(); return {json: {length: count}}; }
message Big { string text; }
"#;

fn with_origin(method: &str, path: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nOrigin: http://app\r\nConnection: close\r\n\r\n"
    )
}

#[test]
fn preflights_reach_their_handlers_and_paths_reach_the_document_they_name() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let mut config = config(
            data.path(),
            vec![space("web", PREFLIGHT), space("demo", PREFLIGHT)],
        );
        config.domain = Some(("web".to_owned(), "home".to_owned()));
        let node = adama_node::start(config).await.expect("the node starts");
        let address = node.address;

        // A preflight invents no document: 404 127692 for one that does not exist.
        let (status, _, body) = http(address, &with_origin("OPTIONS", "/web/k1/open")).await;
        assert_eq!((status, body.as_str()), (404, "error:127692"));
        let (status, _, _) = http(address, &get("/web/k1/hello")).await;
        assert_eq!(status, 200, "a GET invents it");

        // OPTIONS runs the document's `@web options`: CORS only when the handler asks for it,
        // 404 127692 when no handler answers the path.
        let (status, head, _) = http(address, &with_origin("OPTIONS", "/web/k1/open")).await;
        assert_eq!(status, 200, "{head}");
        assert!(
            head.contains("access-control-allow-origin: http://app"),
            "{head}"
        );
        let (status, head, _) = http(address, &with_origin("OPTIONS", "/web/k1/closed")).await;
        assert_eq!(status, 200, "{head}");
        assert!(!head.contains("access-control-allow-origin"), "{head}");
        let (status, _, body) = http(address, &with_origin("OPTIONS", "/web/k1/nowhere")).await;
        assert_eq!((status, body.as_str()), (404, "error:127692"));

        // Only a 200 keeps its connection: after a 404 the node closes it unasked.
        let keep_alive = "GET /web/k1/nowhere HTTP/1.1\r\nHost: test\r\n\r\n";
        let (status, head, _) =
            tokio::time::timeout(std::time::Duration::from_secs(5), http(address, keep_alive))
                .await
                .expect("the node closes the connection");
        assert_eq!(status, 404);
        assert!(head.contains("connection: close"), "{head}");

        // `/~d/` is the domain document; `/~dx` is no path of it.
        let (status, _, body) = http(address, &get("/~d/hello")).await;
        assert_eq!((status, body.as_str()), (200, "hello"));
        let (status, _, _) = http(address, &get("/~dhello")).await;
        assert_ne!(status, 200);

        // The handler's path is decoded.
        let (status, _, body) = http(address, &get("/web/k1/files/a%20b/%E2%9C%93")).await;
        assert_eq!((status, body.as_str()), (200, "file a b/\u{2713}"));
        // An escaped `/` or `?` stays escaped: it reaches no other handler.
        let (status, _, body) = http(address, &get("/web/k1/files/a%2Fb")).await;
        assert_eq!((status, body.as_str()), (200, "file a%2Fb"));
        let (status, _, body) = http(address, &get("/web/k1/hello%3Fx")).await;
        assert_eq!((status, body.as_str()), (404, "error:133308"));

        // A space named `demo` is reached like any other (the demo pages are not served here).
        let (status, _, body) = http(address, &get("/demo/room-1/hello")).await;
        assert_eq!((status, body.as_str()), (200, "hello"));
        let (status, _, body) = http(address, &with_origin("OPTIONS", "/demo/room-1/open")).await;
        assert_eq!(status, 200, "{body}");

        // Bodies up to the protocol's 12 MiB are taken.
        let text = "x".repeat(5_000_000);
        let (status, _, body) = http(
            address,
            &put("/web/k1/big", &format!(r#"{{"text":"{text}"}}"#)),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["length"],
            5_000_000
        );
        let text = "x".repeat(13_000_000);
        let (status, _, _) = http(
            address,
            &put("/web/k1/big", &format!(r#"{{"text":"{text}"}}"#)),
        )
        .await;
        assert_eq!(status, 413, "past 12 MiB");
        node.task.abort();
    });
}
