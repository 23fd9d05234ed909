//! The requests that need no socket: `documents/hash-password`, `documents/create-dedupe` and
//! the authorization methods. They are answered the same over the WebSocket and over
//! `PUT /~adama/once` (protocol spec §2.8); the deprecated `document/authorize` family only
//! over the WebSocket.

use std::sync::Arc;

use serde_json::{Map, Value as Json, json};

use crate::identity;
use crate::node::Node;
use crate::protocol::{Params, codes};

/// The methods `PUT /~adama/once` answers.
pub const METHODS: [&str; 4] = [
    "documents/hash-password",
    "documents/create-dedupe",
    "document/authorization",
    "document/authorization-domain",
];

/// Where a request comes from: the connection context of the socket or HTTP request.
#[derive(Debug, Clone)]
pub struct Origin {
    pub origin: String,
    pub ip: String,
}

/// Answers one of [`METHODS`]: the `response` object, or the failure code.
pub async fn answer(
    node: &Arc<Node>,
    method: &str,
    params: &Map<String, Json>,
    from: &Origin,
) -> Result<Json, i32> {
    let params = Params(params);
    match method {
        "documents/hash-password" => {
            let password = params.string("password")?;
            // Hashing is deliberately slow: it runs off the sockets' threads.
            let hashed = tokio::task::spawn_blocking(move || crate::password::hash(&password))
                .await
                .map_err(|_| codes::AUTHORIZE_FAILURE)?;
            match hashed {
                Ok(hash) => Ok(json!({"passwordHash": hash})),
                Err(message) => {
                    tracing::error!(%message, "a password cannot be hashed");
                    Err(codes::AUTHORIZE_FAILURE)
                }
            }
        }
        "documents/create-dedupe" => Ok(json!({"dedupe": identity::random_token()})),
        "document/authorization" | "document/authorization-domain" => {
            crate::authorization::authorize(node, method, &params, from).await
        }
        "document/authorize"
        | "document/authorize-domain"
        | "document/authorize-with-reset"
        | "document/authorize-domain-with-reset" => {
            crate::authorization::authorize_user(node, method, &params, from).await
        }
        _ => Err(codes::METHOD_NOT_FOUND),
    }
}
