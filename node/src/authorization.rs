//! `document/authorization` and `document/authorization-domain` (protocol spec §2.8): the
//! document's `@authorization` handler reads the login message and names the agent and its
//! password hash; the node checks the password and, if it matches, gives back an identity the
//! document issued (`document/<space>/<key>/<agent>`, the principal `(agent, doc/<space>/<key>)`).
//! When the handler also names a `channel` and a `success` message, that message is sent to the
//! document as the new principal before the identity is returned.
//!
//! The deprecated `document/authorize` family hands a user name and password to the document's
//! `@authorize`, which checks them itself and names the agent; the `…-with-reset` forms then
//! give the new password to `@password`, as the agent, in a logged transaction.
//!
//! The identity returned is a token signed with the node's key (protocol spec §3.2).

use std::sync::Arc;

use serde_json::{Value as Json, json};

use crate::document::Request;
use crate::engine::{Context, Who};
use crate::node::Node;
use crate::once::Origin;
use crate::protocol::{Params, codes, missing_code};

pub async fn authorize(
    node: &Arc<Node>,
    method: &str,
    params: &Params<'_>,
    from: &Origin,
) -> Result<Json, i32> {
    let (space, key) = if method == "document/authorization-domain" {
        params.normalized("domain")?;
        node.config.domain.clone().ok_or(codes::DOMAIN_NOT_FOUND)?
    } else {
        (params.space()?, params.key()?)
    };
    let space = node.space(&space).ok_or(codes::SPACE_NOT_FOUND)?;
    let Json::Object(mut message) = params.message("message")? else {
        return Err(missing_code("message"));
    };
    // The password never reaches the document.
    let Some(Json::String(password)) = message.remove("password") else {
        return Err(codes::AUTHORIZE_FAILURE);
    };
    let message = Json::Object(message);
    let asking = Context {
        who: Who::no_one(),
        origin: from.origin.clone(),
        ip: from.ip.clone(),
    };
    let (_, returned) = node
        .ask(&space, &key, |reply| Request::Authorize {
            context: asking.clone(),
            message: message.clone(),
            reply,
        })
        .await
        .map_err(|failure| {
            tracing::debug!(space = %space.name, %key, reason = %failure.message, "an authorization was refused");
            failure.code
        })?;
    let text = |name: &str| returned.get(name).and_then(Json::as_str).map(str::to_owned);
    let (Some(agent), Some(hash)) = (text("agent"), text("hash")) else {
        return Err(codes::AUTHORIZE_FAILURE);
    };
    if agent.is_empty() {
        return Err(codes::AUTHORIZE_FAILURE);
    }
    let matches = tokio::task::spawn_blocking(move || crate::password::check(&password, &hash))
        .await
        .unwrap_or(false);
    if !matches {
        return Err(codes::AUTHORIZE_FAILURE);
    }
    let authority = format!("doc/{}/{key}", space.name);
    if let (Some(channel), Some(success)) = (text("channel"), returned.get("success")) {
        let sender = Context {
            who: Who::new(&agent, &authority),
            ..asking
        };
        let success = success.clone();
        node.ask(&space, &key, |reply| Request::Send {
            token: None,
            context: sender.clone(),
            channel: channel.clone(),
            message: success.clone(),
            marker: None,
            missing: codes::SEND_NOT_FOUND,
            reply,
        })
        .await
        .map_err(|failure| failure.code)?;
    }
    Ok(json!({"identity": node.issue_identity(&space.name, &key, &agent)}))
}

/// `document/authorize`, `document/authorize-domain` and their `…-with-reset` forms.
pub async fn authorize_user(
    node: &Arc<Node>,
    method: &str,
    params: &Params<'_>,
    from: &Origin,
) -> Result<Json, i32> {
    let (space, key) = if method.starts_with("document/authorize-domain") {
        params.normalized("domain")?;
        node.config.domain.clone().ok_or(codes::DOMAIN_NOT_FOUND)?
    } else {
        (params.space()?, params.key()?)
    };
    let username = params.string("username")?;
    let password = params.string("password")?;
    let reset = method.ends_with("-with-reset");
    let new_password = if reset {
        Some(params.string("new_password")?)
    } else {
        None
    };
    let space = node.space(&space).ok_or(codes::SPACE_NOT_FOUND)?;
    let context = Context {
        who: Who::no_one(),
        origin: from.origin.clone(),
        ip: from.ip.clone(),
    };
    let asked = match new_password {
        Some(new_password) => {
            node.ask(&space, &key, |reply| Request::Password {
                context: context.clone(),
                username: username.clone(),
                password: password.clone(),
                new_password: new_password.clone(),
                reply,
            })
            .await
        }
        None => {
            node.ask(&space, &key, |reply| Request::AuthorizeUser {
                context: context.clone(),
                username: username.clone(),
                password: password.clone(),
                reply,
            })
            .await
        }
    };
    let (_, agent) = asked.map_err(|failure| {
        tracing::debug!(space = %space.name, %key, reason = %failure.message, "a login was refused");
        failure.code
    })?;
    Ok(json!({"identity": node.issue_identity(&space.name, &key, &agent)}))
}
