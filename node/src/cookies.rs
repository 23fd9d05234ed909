//! The HTTP routes that set cookies and the one that answers a request without a socket
//! (protocol spec §3.4, §2.8, §5.1):
//! - `PUT /~stash/<anything>` with `{"name","identity","max-age"}` sets the identity cookie
//!   `id_<name>` (HttpOnly, SameSite=Strict, Secure unless the host is `localhost`), which HTTP
//!   requests then use as their identity (`id_default`, §5.2). It needs an `Origin` header.
//! - `/~set/<name>/<value>` sets the cookie `skvp_<name>`.
//! - `PUT /~adama/once` answers `documents/hash-password`, `documents/create-dedupe` and the
//!   authorization methods: 200 with the response object, or 400 with the failure code.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

use crate::identity;
use crate::node::Node;
use crate::once::{self, Origin};
use crate::protocol::{codes, missing_code};

/// A failure as the fixed routes give it: 400, `text/plain`, the code alone.
fn failure(code: i32) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        code.to_string(),
    )
        .into_response()
}

fn json_response(body: &Json) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The browser may call these from a page of another origin, with its cookies.
fn allow_origin(response: &mut Response, origin: Option<&HeaderValue>) {
    if let Some(origin) = origin {
        crate::http::add_cors(response.headers_mut(), origin);
    }
}

/// Cookies go without `Secure` only to `localhost`, where pages are served over plain HTTP.
fn secure(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    name != "localhost"
}

/// A cookie name: letters, digits, `-` and `_`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A cookie value: printable ASCII without white space, quotes, commas, semicolons or
/// backslashes (RFC 6265 cookie-octets).
fn valid_value(value: &str) -> bool {
    value.len() <= 4096
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'))
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// `PUT /~stash/…`.
pub async fn stash(
    State(node): State<Arc<Node>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = headers.get(header::ORIGIN).cloned();
    if method == Method::OPTIONS {
        let mut response = StatusCode::OK.into_response();
        allow_origin(&mut response, origin.as_ref());
        return response;
    }
    if method != Method::PUT && method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let mut response = match stash_cookie(&node, &headers, &body) {
        Ok(cookie) => {
            let mut response = json_response(&json!({}));
            set_cookie(&mut response, &cookie);
            response
        }
        Err(code) => failure(code),
    };
    allow_origin(&mut response, origin.as_ref());
    response
}

/// The `Set-Cookie` text of a stash, or the failure code.
fn stash_cookie(node: &Node, headers: &HeaderMap, body: &Bytes) -> Result<String, i32> {
    // Cookies are set only for pages (which send their origin), never for a bare client.
    if !headers.contains_key(header::ORIGIN) {
        return Err(codes::CANT_STASH_COOKIE);
    }
    let Ok(Json::Object(request)) = serde_json::from_slice::<Json>(body) else {
        return Err(codes::CANT_STASH_COOKIE);
    };
    let text = |name: &str| match request.get(name) {
        Some(Json::String(text)) => Some(text.clone()),
        Some(Json::Number(number)) => Some(number.to_string()),
        _ => None,
    };
    let name = text("name").ok_or(missing_code("name"))?;
    let identity_text = text("identity").ok_or(missing_code("identity"))?;
    if !valid_name(&name) || !valid_value(&identity_text) || identity_text.starts_with("cookie:") {
        return Err(codes::CANT_STASH_COOKIE);
    }
    // Only an identity this node accepts is worth a cookie.
    identity::resolve(&identity_text, node.identity_rules(), &Default::default())?;
    let max_age = request
        .get("max-age")
        .and_then(|age| age.as_i64().or_else(|| age.as_str()?.trim().parse().ok()))
        .filter(|age| *age >= 0);
    let mut cookie = format!("id_{name}={identity_text}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure(headers) {
        cookie.push_str("; Secure");
    }
    Ok(cookie)
}

/// `/~set/<name>/<value>`.
pub async fn set(Path((name, value)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if !valid_name(&name) || !valid_value(&value) {
        return failure(codes::CANT_STASH_COOKIE);
    }
    let mut cookie = format!("skvp_{name}={value}; Path=/; SameSite=Strict");
    if secure(&headers) {
        cookie.push_str("; Secure");
    }
    let mut response = StatusCode::OK.into_response();
    set_cookie(&mut response, &cookie);
    allow_origin(&mut response, headers.get(header::ORIGIN));
    response
}

/// `PUT /~adama/once`.
/// The document a `/~adama/once` request runs in (`space/key`), for the methods that run in one.
fn once_document(node: &Node, body: &Bytes) -> Option<String> {
    let request: Json = serde_json::from_slice(body).ok()?;
    match request.get("method")?.as_str()? {
        "document/authorization" => Some(format!(
            "{}/{}",
            request.get("space")?.as_str()?,
            request.get("key")?.as_str()?
        )),
        "document/authorization-domain" => {
            let (space, key) = node.config.domain.as_ref()?;
            Some(format!("{space}/{key}"))
        }
        _ => None,
    }
}

pub async fn once(
    State(node): State<Arc<Node>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let cors = headers.get(header::ORIGIN).cloned();
    if method == Method::OPTIONS {
        let mut response = StatusCode::OK.into_response();
        allow_origin(&mut response, cors.as_ref());
        return response;
    }
    if method != Method::PUT && method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    if let Some(cluster) = &node.cluster
        && let Some(document) = once_document(&node, &body)
    {
        // A document's authorization runs where the document runs.
        let incoming = crate::cluster::http_proxy::Incoming {
            method: &method,
            uri: &uri,
            headers: &headers,
            body: body.clone(),
        };
        if let Some(response) = cluster.serve_http(&document, incoming).await {
            return response;
        }
    }
    let (origin, ip) = crate::http::origin_and_ip(&headers, peer);
    let from = Origin { origin, ip };
    let mut response = match serde_json::from_slice::<Json>(&body) {
        Ok(Json::Object(mut request)) => {
            // The request needs no id of its own here; it gets one as a socket's would have.
            request.insert("id".into(), json!(0));
            match request
                .get("method")
                .and_then(Json::as_str)
                .map(str::to_owned)
            {
                Some(method) if once::METHODS.contains(&method.as_str()) => {
                    match once::answer(&node, &method, &request, &from).await {
                        Ok(answer) => json_response(&answer),
                        Err(code) => failure(code),
                    }
                }
                Some(_) => failure(codes::METHOD_NOT_FOUND),
                None => failure(codes::NO_METHOD),
            }
        }
        _ => failure(codes::BAD_FRAME),
    };
    allow_origin(&mut response, cors.as_ref());
    response
}
