//! HTTP on the node's port: the WebSocket upgrade at `/~s`, the fixed routes, `/metrics`, the
//! demo page, and the programs' `@web` handlers (protocol spec §5).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Map, Value as Json, json};

use crate::document::{Request, WebMethod};
use crate::engine::{Context, Who};
use crate::identity;
use crate::node::Node;
use crate::protocol::{codes, valid_key_char};
use crate::socket;

const PAGE: &str = include_str!("page.html");

/// The example pages and the client library they load (`clients/js/demo`), by file name.
const DEMO: [(&str, &str, &str); 5] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../clients/js/demo/index.html"),
    ),
    (
        "chat.html",
        "text/html; charset=utf-8",
        include_str!("../../clients/js/demo/chat.html"),
    ),
    (
        "tictactoe.html",
        "text/html; charset=utf-8",
        include_str!("../../clients/js/demo/tictactoe.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../clients/js/demo/style.css"),
    ),
    (
        "adama-client.js",
        "text/javascript; charset=utf-8",
        include_str!("../../clients/js/demo/adama-client.js"),
    ),
];

/// The largest HTTP request body (protocol spec §1.7); uploads have their own bound.
pub const MAX_BODY: usize = 12_582_912;

/// Path prefixes answered 410 without a body (scanners).
const SHIELDED: [&str; 6] = ["/api/", "/d/", "/s/", "/docs/", "/wp-admin/", "/wp-login"];

pub fn router(node: Arc<Node>) -> Router {
    // The form's framing comes on top of the largest file.
    let upload_body = usize::try_from(node.config.max_upload)
        .unwrap_or(usize::MAX)
        .saturating_add(65_536);
    Router::new()
        .route("/~s", any(upgrade))
        .route("/~s/{*rest}", any(upgrade))
        .route("/~health_check_lb", any(health))
        .route(
            "/~deep_health_check_status_page",
            any(|| async { text("text/html", "DEVSERVER".into()) }),
        )
        .route(
            "/~version",
            any(|| async { text("text/plain", socket::VERSION.into()) }),
        )
        .route("/~bm/{*rest}", any(beacon))
        .route("/~lg/{*rest}", any(beacon))
        .route("/~pt/{*rest}", any(beacon))
        .route(
            "/~upload",
            axum::routing::post(crate::attachments::upload_form)
                .layer(axum::extract::DefaultBodyLimit::max(upload_body)),
        )
        .route("/~adama/once", any(crate::cookies::once))
        .route("/~stash/{*rest}", any(crate::cookies::stash))
        .route("/~set/{name}/{value}", any(crate::cookies::set))
        .route("/metrics", get(metrics))
        .route("/~adama/diagnostics/{space}", get(diagnostics))
        .route("/~adama/deploy/{space}", axum::routing::put(deploy))
        .route("/~replica/follow", get(crate::replica::follow::route))
        .route("/~replica/status", get(crate::replica::host::status))
        .merge(crate::cluster::routes::routes())
        .route("/", get(page))
        .route("/~adama/console", get(console))
        .route("/demo/{file}", any(demo))
        .fallback(web)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(node)
}

fn text(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn health() -> Response {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    text("text/text; charset=UTF-8", format!("HEALTHY:{now}"))
}

async fn beacon() -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("OPTIONS,GET,PUT,POST"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    response
}

async fn metrics(State(node): State<Arc<Node>>) -> Response {
    let mut body = node.metrics.render();
    if let Some(cluster) = &node.cluster {
        body.push_str(&cluster.render_metrics());
    }
    text("text/plain; version=0.0.4", body)
}

/// The errors of a space's latest source (200 `ok` when it compiled).
async fn diagnostics(
    State(node): State<Arc<Node>>,
    axum::extract::Path(space): axum::extract::Path<String>,
) -> Response {
    if node.space(&space).is_none() {
        return (StatusCode::NOT_FOUND, format!("no space '{space}'")).into_response();
    }
    text(
        "text/plain; charset=utf-8",
        node.diagnostics(&space).unwrap_or_else(|| "ok".into()),
    )
}

/// `adama deploy`: new source for a space, accepted from the node's own machine only.
async fn deploy(
    State(node): State<Arc<Node>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::extract::Path(space): axum::extract::Path<String>,
    body: String,
) -> Response {
    if !peer.ip().is_loopback() {
        return (
            StatusCode::FORBIDDEN,
            "deploys are accepted from this machine only",
        )
            .into_response();
    }
    match crate::upgrade::deploy_text(&node, &space, body).await {
        Ok(()) => text("text/plain; charset=utf-8", "deployed".into()),
        Err(crate::upgrade::DeployError::Rejected(errors)) => {
            (StatusCode::BAD_REQUEST, errors).into_response()
        }
        Err(crate::upgrade::DeployError::Unfinished(error)) => {
            (StatusCode::SERVICE_UNAVAILABLE, error).into_response()
        }
    }
}

/// The example pages when the node serves the examples, else the console.
async fn page(State(node): State<Arc<Node>>) -> Response {
    if node.config.demo_pages
        && let Some(page) = demo_file("index.html")
    {
        return page;
    }
    console(State(node)).await
}

fn demo_file(file: &str) -> Option<Response> {
    DEMO.iter()
        .find(|(name, _, _)| *name == file)
        .map(|(_, content_type, body)| text(content_type, (*body).to_owned()))
}

/// The demo pages' files when the node serves them; any other `/demo/…` is a space named
/// `demo` (a document of it and its `@web` handlers).
async fn demo(
    state: State<Arc<Node>>,
    peer: ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let file = uri.path().trim_start_matches("/demo/");
    if state.config.demo_pages
        && matches!(method, Method::GET | Method::HEAD)
        && let Some(page) = demo_file(file)
    {
        return page;
    }
    web(state, peer, method, uri, headers, body).await
}

async fn console(State(node): State<Arc<Node>>) -> Response {
    let spaces = serde_json::to_string(&node.space_names()).unwrap_or_else(|_| "[]".into());
    text(
        "text/html; charset=utf-8",
        PAGE.replace("\"__SPACES__\"", &spaces),
    )
}

/// The connection context of a request: `Origin` (else `https://` + Host) and the peer.
pub(crate) fn origin_and_ip(headers: &HeaderMap, peer: SocketAddr) -> (String, String) {
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let origin = header_text(header::ORIGIN)
        .unwrap_or_else(|| format!("https://{}", header_text(header::HOST).unwrap_or_default()));
    (origin, peer.ip().to_string())
}

/// `/~s`: the opening handshake (RFC 6455 §4.2), then the socket is served on the TCP
/// connection itself (`socket::run`), with the node's own framing.
async fn upgrade(
    State(node): State<Arc<Node>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: axum::extract::Request,
) -> Response {
    let accept = match crate::websocket::handshake(request.method(), request.headers()) {
        Ok(accept) => accept,
        Err((status, why)) => return (status, why).into_response(),
    };
    let Some(upgrading) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            "this connection cannot be upgraded",
        )
            .into_response();
    };
    let (origin, ip) = origin_and_ip(request.headers(), peer);
    tokio::spawn(async move {
        let upgraded = match upgrading.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%error, "a socket's upgrade failed");
                return;
            }
        };
        match upgraded.downcast::<hyper_util::rt::TokioIo<tokio::net::TcpStream>>() {
            Ok(parts) => socket::run(node, parts.io.into_inner(), parts.read_buf, origin, ip).await,
            Err(_) => tracing::error!("an upgraded connection is not a TCP stream"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn error_response(status: StatusCode, code: i32, cors_origin: Option<&HeaderValue>) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html")],
        format!("error:{code}"),
    )
        .into_response();
    if let Some(origin) = cors_origin {
        add_cors(response.headers_mut(), origin);
    }
    response
}

/// Lets a page of another origin call the node with its cookies and credentials.
pub(crate) fn add_cors(headers: &mut HeaderMap, origin: &HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("OPTIONS,GET,PUT,POST,DELETE"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type,authorization"),
    );
}

/// The query string as `@parameters`: the first value per name, and `name*` with all values
/// of a repeated name.
fn parameters(uri: &Uri) -> (Json, Option<String>) {
    let pairs = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|query| query.0)
        .unwrap_or_default();
    let mut object = Map::new();
    let mut token = None;
    for (name, value) in &pairs {
        if name == "__IDENTITY_TOKEN" {
            token = Some(value.clone());
            continue;
        }
        let all: Vec<&String> = pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        if all.len() > 1 {
            object.insert(format!("{name}*"), json!(all));
        }
        object.entry(name.clone()).or_insert_with(|| json!(value));
    }
    (Json::Object(object), token)
}

/// A handler's path with each segment percent-decoded, as its query parameters are
/// (`/files/a%20b` is `a b`). A segment whose decoding would hold a `/` or a `?`, or is not
/// UTF-8, stays as it came: an escape must not change which handler a path reaches.
fn decoded_path(path: &str) -> String {
    path.split('/')
        .map(
            |segment| match percent_encoding::percent_decode_str(segment).decode_utf8() {
                Ok(text) if !text.contains(['/', '?']) => text.into_owned(),
                _ => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn identity_text(headers: &HeaderMap, token: Option<String>) -> Option<String> {
    if token.is_some() {
        return token;
    }
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().strip_prefix("id_default="))
        .map(str::to_owned)
        .next()
}

/// A PUT body as JSON: empty is `{}`, form text is a flat object, otherwise a JSON object.
fn body_json(body: &Bytes) -> Option<Json> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() {
        return Some(json!({}));
    }
    if !text.starts_with('{') && !text.starts_with('[') {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).ok()?;
        let object: Map<String, Json> = pairs.into_iter().map(|(k, v)| (k, json!(v))).collect();
        return Some(Json::Object(object));
    }
    match serde_json::from_str(text).ok()? {
        object @ Json::Object(_) => Some(object),
        _ => None,
    }
}

/// Everything else: the scanner shield, then `/<space>/<key>/<path>` and `/~d/<path>`.
async fn web(
    State(node): State<Arc<Node>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut response = web_answer(node, peer, method, uri, headers, body).await;
    // Only a 200 keeps its connection open (spec §5.2).
    if response.status() != StatusCode::OK {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request for a document's `@web` handlers, answered.
async fn web_answer(
    node: Arc<Node>,
    peer: SocketAddr,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if (path.starts_with("/.") && !path.starts_with("/.well-known"))
        || SHIELDED.iter().any(|prefix| path.starts_with(prefix))
    {
        return StatusCode::GONE.into_response();
    }
    let cors_origin = headers.get(header::ORIGIN).cloned();
    let domain_path = path
        .strip_prefix("/~d")
        .filter(|rest| rest.is_empty() || rest.starts_with('/'));
    let (target, handler_path) = if let Some(rest) = domain_path {
        match node.config.domain.clone() {
            Some(target) => (
                target,
                if rest.is_empty() {
                    "/".to_owned()
                } else {
                    rest.to_owned()
                },
            ),
            None => {
                return error_response(
                    StatusCode::NOT_FOUND,
                    codes::DOMAIN_NOT_FOUND,
                    cors_origin.as_ref(),
                );
            }
        }
    } else {
        let mut parts = path.trim_start_matches('/').splitn(3, '/');
        let space = parts.next().unwrap_or_default().to_owned();
        let key = parts.next().unwrap_or_default().to_owned();
        let rest = format!("/{}", parts.next().unwrap_or_default());
        if key.is_empty() || !key.chars().all(valid_key_char) || key.len() > 511 {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
        ((space, key), rest)
    };
    let handler_path = decoded_path(&handler_path);
    let Some(space) = node.space(&target.0) else {
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::SPACE_NOT_FOUND,
            cors_origin.as_ref(),
        );
    };
    let web_method = match method {
        Method::GET | Method::HEAD => WebMethod::Get,
        Method::PUT | Method::POST => WebMethod::Put,
        Method::DELETE => WebMethod::Delete,
        Method::OPTIONS => WebMethod::Options,
        _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    };
    if let Some(cluster) = &node.cluster {
        // The node that leads the document's partition runs its handlers.
        let incoming = crate::cluster::http_proxy::Incoming {
            method: &method,
            uri: &uri,
            headers: &headers,
            body: body.clone(),
        };
        let document = format!("{}/{}", target.0, target.1);
        if let Some(response) = cluster.serve_http(&document, incoming).await {
            return response;
        }
    }
    let (parameters, token) = parameters(&uri);
    let who = match identity_text(&headers, token) {
        Some(text) => match identity::resolve(&text, node.identity_rules(), &Default::default()) {
            Ok(who) => who,
            Err(code) => return error_response(StatusCode::FORBIDDEN, code, cors_origin.as_ref()),
        },
        None => Who::no_one(),
    };
    let (origin, ip) = origin_and_ip(&headers, peer);
    let mut header_object: Map<String, Json> = headers
        .iter()
        .filter(|(name, _)| *name != header::COOKIE)
        .filter_map(|(name, value)| {
            Some((name.as_str().to_lowercase(), json!(value.to_str().ok()?)))
        })
        .collect();
    header_object.insert("origin".into(), json!(origin));
    header_object.insert("remote-ip".into(), json!(ip));
    let mut request =
        json!({"uri": handler_path, "headers": header_object, "parameters": parameters});
    if web_method == WebMethod::Put {
        match body_json(&body) {
            Some(body) => request["bodyJson"] = body,
            None => return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response(),
        }
    }
    let context = Context { who, origin, ip };
    let (space_name, key) = target;
    let result = node
        .ask(&space, &key, |reply| Request::Web {
            method: web_method,
            context: context.clone(),
            request: request.clone(),
            reply,
        })
        .await;
    match result {
        Ok((_, response))
            if response.get("content-type").and_then(Json::as_str) == Some("asset") =>
        {
            serve_asset(&node, &response, &space_name, &key, cors_origin.as_ref()).await
        }
        Ok((_, response)) => render(&node, &response, &space_name, &key, cors_origin.as_ref()),
        Err(failure) => {
            let status = match failure.code {
                133_308 | 114_881 | 110_832 | 127_692 => StatusCode::NOT_FOUND,
                145_659 | 134_399 | 120_060 => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            error_response(status, failure.code, cors_origin.as_ref())
        }
    }
}

/// A handler's `{asset: a}`: the stored bytes with the file's content type and MD5.
async fn serve_asset(
    node: &Arc<Node>,
    response: &Json,
    space: &str,
    key: &str,
    cors_origin: Option<&HeaderValue>,
) -> Response {
    let id = response["body"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let document = crate::attachments::document_name(space, key);
    let Some((meta, body)) = crate::attachments::fetch(node, document, id).await else {
        return error_response(StatusCode::NOT_FOUND, codes::WEB_GET_NOT_FOUND, cors_origin);
    };
    let mut served = Response::new(body);
    let headers = served.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size));
    if let Ok(value) = HeaderValue::from_str(&meta.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // Content-MD5 is the base64 of the digest's bytes.
    let digest: Option<Vec<u8>> = (0..meta.md5.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(meta.md5.get(at..at + 2)?, 16).ok())
        .collect();
    if let Some(digest) = digest {
        use base64::Engine as _;
        let text = base64::engine::general_purpose::STANDARD.encode(digest);
        if let Ok(value) = HeaderValue::from_str(&text) {
            headers.insert("content-md5", value);
        }
    }
    if let Some(ttl) = response.get("cache-ttl-seconds").and_then(Json::as_i64)
        && ttl > 0
        && let Ok(value) = HeaderValue::from_str(&format!("max-age={ttl}"))
    {
        headers.insert(header::CACHE_CONTROL, value);
    }
    if response.get("cors").and_then(Json::as_bool) == Some(true)
        && let Some(origin) = cors_origin
    {
        add_cors(headers, origin);
    }
    served
}

/// A handler's response as HTTP.
fn render(
    node: &Node,
    response: &Json,
    space: &str,
    key: &str,
    cors_origin: Option<&HeaderValue>,
) -> Response {
    let status = response
        .get("status")
        .and_then(Json::as_u64)
        .and_then(|status| StatusCode::from_u16(status as u16).ok())
        .unwrap_or(StatusCode::OK);
    let mut built = if let Some(location) = response.get("location").and_then(Json::as_str) {
        let mut redirect = status.into_response();
        if let Ok(location) = HeaderValue::from_str(location) {
            redirect.headers_mut().insert(header::LOCATION, location);
        }
        redirect
    } else {
        let content_type = response
            .get("content-type")
            .and_then(Json::as_str)
            .unwrap_or("text/html; charset=utf-8");
        let body = match response.get("body") {
            Some(Json::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let (content_type, body) = match content_type {
            "text/identity" | "text/agent" => {
                // `sign(agent)`: the document issues the agent a token signed with the node's
                // key; `identity` passes as it is.
                let identity = if content_type == "text/agent" {
                    node.issue_identity(space, key, &body)
                } else {
                    body
                };
                (
                    "application/json".to_owned(),
                    json!({"identity": identity}).to_string(),
                )
            }
            _ => (content_type.to_owned(), body),
        };
        let mut ok = Response::new(Body::from(body));
        *ok.status_mut() = status;
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            ok.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        ok
    };
    if response.get("cors").and_then(Json::as_bool) == Some(true)
        && let Some(origin) = cors_origin
    {
        add_cors(built.headers_mut(), origin);
    }
    built
}
