//! `@web` handlers: routing a request to a handler, running it (PUT and DELETE as transactions,
//! GET against the current state, changing nothing), and turning its returned message into a
//! response (runtime spec §9.3).

use std::collections::BTreeMap;
use std::sync::Arc;

use adama_compiler::hir::WebMethod;
use adama_compiler::ir::{Program, WebSegment};
use adama_compiler::ty::Ty;
use serde_json::{Map, Value as Json, json};

use crate::document::Document;
use crate::error::Fault;
use crate::eval::Frame;
use crate::exec::Flow;
use crate::value::{Principal, Value};

/// A web request as a command carries it.
#[derive(Debug, Clone)]
pub struct WebRequest {
    pub uri: String,
    pub headers: Json,
    pub parameters: Json,
    pub body: Json,
}

impl WebRequest {
    /// Reads `{"uri","headers","parameters","bodyJson"}`.
    pub fn from_json(json: &Json) -> WebRequest {
        WebRequest {
            uri: json
                .get("uri")
                .and_then(Json::as_str)
                .unwrap_or("/")
                .to_owned(),
            headers: json
                .get("headers")
                .cloned()
                .unwrap_or(Json::Object(Map::new())),
            parameters: json
                .get("parameters")
                .cloned()
                .unwrap_or(Json::Object(Map::new())),
            body: json
                .get("bodyJson")
                .cloned()
                .unwrap_or(Json::Object(Map::new())),
        }
    }
}

/// The request a web handler is answering, for `@headers` and `@parameters`.
#[derive(Debug, Clone)]
pub(crate) struct WebContext {
    pub headers: Value,
    pub parameters: Value,
}

/// How well a route matches: literals beat captures, which beat a tail capture.
fn rank(segment: &WebSegment) -> u8 {
    match segment {
        WebSegment::Literal(_) => 0,
        WebSegment::Param { .. } => 1,
        WebSegment::Rest { .. } => 2,
    }
}

/// A path segment read as a capture's type.
fn capture(text: &str, ty: &Ty) -> Option<Value> {
    Some(match ty {
        Ty::Int => Value::Int(text.parse().ok()?),
        Ty::Long => Value::Long(text.parse().ok()?),
        Ty::Double => Value::Double(text.parse().ok()?),
        Ty::Bool => Value::Bool(text.parse().ok()?),
        _ => Value::string(text),
    })
}

/// The values a route's captures bind: (frame slot, value).
pub(crate) type Bindings = Vec<(u32, Value)>;

/// The handler for a method and path, and the values its captures bind.
pub(crate) fn route(program: &Program, method: WebMethod, uri: &str) -> Option<(usize, Bindings)> {
    let path = uri.split('?').next().unwrap_or("");
    let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    let mut best: Option<(Vec<u8>, usize, Bindings)> = None;
    for (index, web) in program.webs.iter().enumerate() {
        if web.method != method {
            continue;
        }
        let mut bindings = Vec::new();
        let mut matched = true;
        let mut consumed = 0;
        for segment in &web.segments {
            match segment {
                WebSegment::Rest { slot } => {
                    bindings.push((
                        *slot,
                        Value::string(&parts[consumed.min(parts.len())..].join("/")),
                    ));
                    consumed = parts.len();
                    break;
                }
                WebSegment::Literal(text) => {
                    if parts.get(consumed) != Some(&text.as_str()) {
                        matched = false;
                        break;
                    }
                    consumed += 1;
                }
                WebSegment::Param { slot, ty } => {
                    match parts.get(consumed).and_then(|part| capture(part, ty)) {
                        Some(value) => bindings.push((*slot, value)),
                        None => {
                            matched = false;
                            break;
                        }
                    }
                    consumed += 1;
                }
            }
        }
        if !matched || consumed != parts.len() {
            continue;
        }
        let ranks: Vec<u8> = web.segments.iter().map(rank).collect();
        if best
            .as_ref()
            .is_none_or(|(best_ranks, ..)| ranks < *best_ranks)
        {
            best = Some((ranks, index, bindings));
        }
    }
    best.map(|(_, index, bindings)| (index, bindings))
}

impl Document {
    /// Runs a web handler's code; the response, or a fault.
    pub(crate) fn run_web(
        &mut self,
        program: &Program,
        index: usize,
        bindings: Bindings,
        request: &WebRequest,
        who: &Principal,
    ) -> Result<Json, Fault> {
        let web = &program.webs[index];
        let mut frame = Frame::new(program, web.unit, who.clone());
        for (slot, value) in bindings {
            frame.slots[slot as usize] = value;
        }
        if let Some((slot, Some(message))) = web.param {
            frame.slots[slot as usize] = self.message_from_json(message, &request.body);
        }
        let headers: BTreeMap<_, _> = request
            .headers
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| {
                (
                    Value::string(name).to_map_key(),
                    Value::string(value.as_str().unwrap_or_default()),
                )
            })
            .collect();
        self.run.web_context = Some(Box::new(WebContext {
            headers: Value::Map(Arc::new(headers)),
            parameters: Value::Dynamic(Arc::new(request.parameters.clone())),
        }));
        let result = self.block(program, &mut frame, &web.body);
        self.run.web_context = None;
        Ok(match result? {
            Flow::Return(value) => self.response(&value),
            _ => json!({"status": 200}),
        })
    }

    /// A handler's returned message as a response: content type, body and options.
    fn response(&self, value: &Value) -> Json {
        let Value::Message(message) = value else {
            return json!({"status": 200});
        };
        let mut response = Map::new();
        let mut status = 200;
        for (name, field) in message.shape.fields.iter().zip(&message.values) {
            let text = || Json::String(field.as_str().to_owned());
            let (content_type, body) = match &**name {
                "html" => ("text/html; charset=utf-8", text()),
                "xml" => ("application/xml", text()),
                "js" => ("text/javascript", text()),
                "css" => ("text/css", text()),
                "csv" => ("text/csv", text()),
                "error" => ("text/error", text()),
                "json" => ("application/json", self.to_stored_json(field)),
                // The node answers both with `{"identity": …}`: a signed identity passes as
                // it is, an agent is first given a token the document issues.
                "identity" => ("text/identity", text()),
                "sign" => ("text/agent", text()),
                "asset" => ("asset", self.to_view_json(field)),
                "redirect" | "forward" => {
                    status = if &**name == "redirect" { 301 } else { 302 };
                    response.insert("location".into(), text());
                    continue;
                }
                "cors" => {
                    response.insert("cors".into(), Json::Bool(field.as_bool()));
                    continue;
                }
                "cache_ttl_seconds" => {
                    response.insert("cache-ttl-seconds".into(), Json::from(field.as_int()));
                    continue;
                }
                "status" => {
                    status = field.as_int();
                    continue;
                }
                _ => continue,
            };
            response.insert("content-type".into(), Json::String(content_type.to_owned()));
            response.insert("body".into(), body);
        }
        response.insert("status".into(), Json::from(status));
        Json::Object(response)
    }
}
