//! Uploaded files (protocol spec §2.7): a socket uploads a file in chunks (`attachment/start`,
//! `/append`, `/finish`) or a page posts it (`POST /~upload`); the node keeps the bytes in its
//! store, then runs the document's `attach` command as the uploader, so `@attached` sees the
//! asset. `@can_attach` decides, before any byte is taken, who may upload.
//!
//! The bytes are durable before the transaction that names them commits; a file whose attach is
//! refused is forgotten again. A `@web` handler that returns `{asset: a}` serves the bytes back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use md5::{Digest as _, Md5};
use serde_json::{Value as Json, json};
use sha2::Sha384;

use crate::document::Request;
use crate::engine::{Context, Space};
use crate::identity;
use crate::node::Node;
use crate::protocol::codes;
use crate::store::AssetMeta;

/// The chunk size the node asks for.
pub const CHUNK_REQUEST: usize = 65_536;
/// The largest file, as large as the largest HTTP body.
pub const MAX_UPLOAD: usize = 12_582_912;

/// A file being uploaded over a socket.
#[derive(Debug)]
pub struct Upload {
    pub space: Arc<Space>,
    pub key: String,
    pub context: Context,
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A socket's uploads by the id of their `attachment/start` request.
#[derive(Debug, Default)]
pub struct Uploads(Mutex<HashMap<i64, Upload>>);

impl Uploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Upload>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn start(&self, id: i64, upload: Upload) {
        self.lock().insert(id, upload);
    }

    /// Adds a chunk (base64, with the hex MD5 of its bytes). A chunk that is not what it
    /// claims, or that makes the file too large, ends the upload.
    pub fn append(&self, id: i64, md5: &str, base64: &str) -> Result<(), i32> {
        use base64::Engine as _;
        let mut uploads = self.lock();
        let Some(upload) = uploads.get_mut(&id) else {
            return Err(codes::UPLOAD_NOT_FOUND);
        };
        let chunk = base64::engine::general_purpose::STANDARD
            .decode(base64.trim())
            .ok()
            .filter(|chunk| hex(&Md5::digest(chunk)).eq_ignore_ascii_case(md5.trim()));
        let Some(chunk) = chunk else {
            uploads.remove(&id);
            return Err(codes::UPLOAD_CORRUPT_CHUNK);
        };
        if upload.bytes.len() + chunk.len() > MAX_UPLOAD {
            uploads.remove(&id);
            return Err(codes::UPLOAD_TOO_LARGE);
        }
        upload.bytes.extend_from_slice(&chunk);
        Ok(())
    }

    pub fn finish(&self, id: i64) -> Option<Upload> {
        self.lock().remove(&id)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The store's name of a document.
pub fn document_name(space: &str, key: &str) -> String {
    format!("{space}/{key}")
}

/// Keeps a file of a document and attaches it as `context.who`: the asset id and the seq of
/// the attach.
pub async fn keep_and_attach(
    node: &Arc<Node>,
    space: &Arc<Space>,
    key: &str,
    context: Context,
    filename: String,
    content_type: String,
    bytes: Vec<u8>,
) -> Result<(String, i32), i32> {
    let id = identity::random_token();
    let meta = AssetMeta {
        name: filename,
        content_type,
        size: bytes.len() as u64,
        md5: hex(&Md5::digest(&bytes)),
        sha384: hex(&Sha384::digest(&bytes)),
    };
    let asset = json!({"id": id, "size": meta.size.to_string(), "name": meta.name,
        "type": meta.content_type, "md5": meta.md5, "sha384": meta.sha384, "@gc": "@yes"});
    let document = document_name(&space.name, key);
    let kept = match &node.cluster {
        // In a cluster every member of the partition keeps the file.
        Some(cluster) => Ok(cluster.keep_file(&document, &id, &meta, &bytes).await),
        None => {
            let store = Arc::clone(&node.store);
            let (name, asset_id) = (document.clone(), id.clone());
            tokio::task::spawn_blocking(move || store.put_asset(&name, &asset_id, &meta, &bytes))
                .await
        }
    };
    if !matches!(kept, Ok(Ok(()))) {
        tracing::error!(%document, ?kept, "an uploaded file cannot be kept");
        return Err(codes::UPLOAD_NOT_STORED);
    }
    let attached = node
        .ask(space, key, |reply| Request::Attach {
            token: None,
            context: context.clone(),
            asset: asset.clone(),
            missing: codes::ATTACH_NOT_FOUND,
            reply,
        })
        .await;
    match attached {
        Ok((_, seq)) => Ok((id, seq)),
        Err(failure) => {
            let store = Arc::clone(&node.store);
            let _ = tokio::task::spawn_blocking(move || store.remove_asset(&document, &id)).await;
            Err(failure.code)
        }
    }
}

/// The asset JSON of `connection/attach`'s parameters.
pub fn asset_of(
    id: String,
    filename: String,
    content_type: String,
    size: i64,
    md5: String,
    sha384: String,
) -> Json {
    json!({"id": id, "size": size.to_string(), "name": filename, "type": content_type,
        "md5": md5, "sha384": sha384, "@gc": "@yes"})
}

/// A file of a document as the store keeps it.
pub async fn fetch(node: &Arc<Node>, document: String, id: String) -> Option<(AssetMeta, Vec<u8>)> {
    let store = Arc::clone(&node.store);
    match tokio::task::spawn_blocking(move || store.asset(&document, &id)).await {
        Ok(Ok(found)) => found,
        _ => None,
    }
}

/// A failure of `POST /~upload`: 400 with the code, as the other fixed routes give it.
fn refused(code: i32) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::BAD_REQUEST,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        code.to_string(),
    )
        .into_response()
}

/// A file of a form.
struct FormFile {
    filename: String,
    content_type: String,
    bytes: Vec<u8>,
}

/// `POST /~upload`: a multipart form with `identity`, `space` and `key` (or `domain`), files,
/// and optionally a `channel` with `message_<field>` (or `message.<field>`) values: each file
/// is kept and attached as the identity's principal, then the message (its fields as text) is
/// sent on the channel. Answers `{"assetIds":[…]}`.
pub async fn upload_form(
    axum::extract::State(node): axum::extract::State<Arc<Node>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::extract::FromRequest;
    use axum::response::IntoResponse;
    // The form is read from the body kept whole, so that in a cluster the same body can go on
    // to the node that leads the document.
    let mut request = axum::http::Request::new(axum::body::Body::from(body.clone()));
    *request.headers_mut() = headers.clone();
    let Ok(mut form) = axum::extract::Multipart::from_request(request, &()).await else {
        return refused(codes::UPLOAD_BAD_FORM);
    };
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut message = serde_json::Map::new();
    let mut files = Vec::new();
    let mut total = 0usize;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return refused(codes::UPLOAD_BAD_FORM),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(filename) = field.file_name().map(str::to_owned) {
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let Ok(bytes) = field.bytes().await else {
                return refused(codes::UPLOAD_BAD_FORM);
            };
            total += bytes.len();
            if total > MAX_UPLOAD {
                return refused(codes::UPLOAD_TOO_LARGE);
            }
            files.push(FormFile {
                filename,
                content_type,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let Ok(text) = field.text().await else {
            return refused(codes::UPLOAD_BAD_FORM);
        };
        match name
            .strip_prefix("message_")
            .or_else(|| name.strip_prefix("message."))
        {
            Some(member) => {
                message.insert(member.to_owned(), Json::String(text));
            }
            None => {
                fields.insert(name, text);
            }
        }
    }
    let field = |name: &str| {
        fields
            .get(name)
            .cloned()
            .ok_or_else(|| crate::protocol::missing_code(name))
    };
    let target = if fields.contains_key("domain") {
        node.config.domain.clone().ok_or(codes::DOMAIN_NOT_FOUND)
    } else {
        field("space").and_then(|space| Ok((space.trim().to_lowercase(), field("key")?)))
    };
    let (space, key) = match target {
        Ok(target) => target,
        Err(code) => return refused(code),
    };
    if key.is_empty() || key.len() > 511 || !key.chars().all(crate::protocol::valid_key_char) {
        return refused(codes::INVALID_KEY);
    }
    if let Some(cluster) = &node.cluster {
        let incoming = crate::cluster::http_proxy::Incoming {
            method: &method,
            uri: &uri,
            headers: &headers,
            body,
        };
        if let Some(response) = cluster
            .serve_http(&document_name(&space, &key), incoming)
            .await
        {
            return response;
        }
    }
    let Some(space) = node.space(&space) else {
        return refused(codes::SPACE_NOT_FOUND);
    };
    let who = match field("identity")
        .and_then(|text| identity::resolve(&text, node.identity_rules(), &HashMap::new()))
    {
        Ok(who) => who,
        Err(code) => return refused(code),
    };
    if files.is_empty() {
        return refused(codes::UPLOAD_BAD_FORM);
    }
    let (origin, ip) = crate::http::origin_and_ip(&headers, peer);
    let context = Context { who, origin, ip };
    let allowed = node
        .ask(&space, &key, |reply| Request::CanAttach {
            token: None,
            context: context.clone(),
            missing: codes::CAN_ATTACH_NOT_FOUND,
            reply,
        })
        .await;
    match allowed {
        Ok((_, true)) => {}
        Ok((_, false)) => return refused(codes::UPLOAD_NOT_ALLOWED),
        Err(failure) => return refused(failure.code),
    }
    let mut ids = Vec::new();
    for file in files {
        match keep_and_attach(
            &node,
            &space,
            &key,
            context.clone(),
            file.filename,
            file.content_type,
            file.bytes,
        )
        .await
        {
            Ok((id, _)) => ids.push(id),
            Err(code) => return refused(code),
        }
    }
    if let Some(channel) = fields.get("channel").cloned() {
        let message = Json::Object(message);
        let sent = node
            .ask(&space, &key, |reply| Request::Send {
                token: None,
                context: context.clone(),
                channel: channel.clone(),
                message: message.clone(),
                marker: None,
                missing: codes::SEND_NOT_FOUND,
                reply,
            })
            .await;
        if let Err(failure) = sent {
            return refused(failure.code);
        }
    }
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json!({"assetIds": ids}).to_string(),
    )
        .into_response()
}
