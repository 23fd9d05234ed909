//! HTTP requests for a document another node leads (`@web` handlers, `PUT /~adama/once`,
//! `POST /~upload`): the request goes to that node as it came (method, path, headers, body),
//! and its answer comes back as it is, as a socket's requests do (`proxy.rs`).
//!
//! A forwarded request carries how many nodes passed it on; one that has been passed on twice
//! is not passed on again (a leader that moved twice meanwhile) and answers 503, which a client
//! may retry.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use super::{Cluster, Route};

/// The header that counts the nodes a request was passed on by.
pub const HOPS: &str = "x-adama-cluster-hops";
/// The most nodes a request is passed on by.
const MAX_HOPS: u32 = 2;
/// How long a forwarded request may take (an upload of the largest file included).
const FORWARD_TTL: Duration = Duration::from_secs(60);

/// A request as it arrived, to pass on.
#[derive(Debug)]
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
}

/// Hop-by-hop headers, which belong to one connection and are not passed on.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn unavailable(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        format!("{reason}; try again"),
    )
        .into_response()
}

impl Cluster {
    /// Where an HTTP request for `document` (`space/key`) is answered: `None` when here (this
    /// node leads the document's partition), else the answer of the node that leads it.
    pub async fn serve_http(&self, document: &str, request: Incoming<'_>) -> Option<Response> {
        let hops: u32 = request
            .headers
            .get(HOPS)
            .and_then(|value| value.to_str().ok()?.parse().ok())
            .unwrap_or(0);
        // A leader that cannot be reached has most likely just died: the route is asked again
        // once the partition names another leader.
        for _ in 0..3 {
            match self.route(document).await {
                Ok(Route::Local) => return None,
                Ok(Route::Remote { node, address }) => {
                    if hops >= MAX_HOPS {
                        return Some(unavailable(&format!(
                            "the leader of {document} moved while the request was passed on"
                        )));
                    }
                    match forward(address, &request, hops + 1).await {
                        Ok(response) => return Some(response),
                        Err(Forward::Unreachable(error)) => {
                            tracing::info!(node, %error, "cannot reach the leader of a document");
                            self.leader_other_than(document, node).await;
                        }
                        // The leader may have run the request: it is not sent again.
                        Err(Forward::Broken(error)) => {
                            tracing::warn!(node, %error, "a forwarded request got no answer");
                            return Some(
                                (
                                    StatusCode::BAD_GATEWAY,
                                    format!("{error}; the request may have run"),
                                )
                                    .into_response(),
                            );
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%document, %error, "no node serves the document now");
                    return Some(unavailable(&error));
                }
            }
        }
        Some(unavailable(&format!("no node serves {document} now")))
    }
}

/// Why a forwarded request has no answer.
enum Forward {
    /// Nothing was sent: the node is not there.
    Unreachable(String),
    /// The request was sent, or may have been.
    Broken(String),
}

/// Sends the request to `address` on a connection of its own and reads the whole answer.
async fn forward(
    address: SocketAddr,
    request: &Incoming<'_>,
    hops: u32,
) -> Result<Response, Forward> {
    let connect = async {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|error| format!("{address}: {error}"))?;
        let _ = stream.set_nodelay(true);
        hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| format!("{address}: {error}"))
    };
    let (mut sender, connection) = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .map_err(|_| Forward::Unreachable(format!("{address} did not answer in time")))?
        .map_err(Forward::Unreachable)?;
    let exchange = async {
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let path = request
            .uri
            .path_and_query()
            .map_or("/", |path| path.as_str());
        let mut outgoing = hyper::Request::builder()
            .method(request.method.clone())
            .uri(path)
            .body(Full::new(request.body.clone()))
            .map_err(|error| error.to_string())?;
        for (name, value) in request.headers {
            if !HOP_BY_HOP.contains(&name.as_str())
                && name != header::CONTENT_LENGTH
                && name.as_str() != HOPS
            {
                outgoing.headers_mut().append(name.clone(), value.clone());
            }
        }
        outgoing.headers_mut().insert(HOPS, HeaderValue::from(hops));
        let answer = sender
            .send_request(outgoing)
            .await
            .map_err(|error| format!("{address}: {error}"))?;
        let (parts, body) = answer.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|error| format!("{address}: {error}"))?
            .to_bytes();
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = parts.status;
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) && name != header::CONTENT_LENGTH {
                response.headers_mut().append(name.clone(), value.clone());
            }
        }
        Ok(response)
    };
    tokio::time::timeout(FORWARD_TTL, exchange)
        .await
        .map_err(|_| Forward::Broken(format!("{address} did not answer in time")))?
        .map_err(Forward::Broken)
}
