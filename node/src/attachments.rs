//! Uploaded files (protocol spec §2.7): a socket uploads a file in chunks (`attachment/start`,
//! `/append`, `/finish`) or a page posts it (`POST /~upload`); the node keeps the bytes in its
//! store, then runs the document's `attach` command as the uploader, so `@attached` sees the
//! asset. `@can_attach` decides, before any byte is taken, who may upload.
//!
//! The bytes are durable before the transaction that names them commits; a file whose attach is
//! refused is forgotten again. A `@web` handler that returns `{asset: a}` serves the bytes back.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use md5::{Digest as _, Md5};
use serde_json::{Value as Json, json};

use crate::document::Request;
use crate::engine::{Context, Space};
use crate::identity;
use crate::node::Node;
use crate::protocol::codes;
use crate::staged_upload::{StagedUpload, hex};
use crate::store::AssetMeta;

/// The chunk size the node asks for.
pub const CHUNK_REQUEST: usize = 65_536;
/// The largest file a node takes unless told otherwise (`adama serve --max-upload`).
pub const DEFAULT_MAX_UPLOAD: u64 = 128 * 1024 * 1024;

/// A file being uploaded over a socket. Its bytes go to a temporary file as they arrive
/// (made with the first chunk); dropping the upload deletes that file.
#[derive(Debug)]
pub struct Upload {
    pub space: Arc<Space>,
    pub key: String,
    pub context: Context,
    pub filename: String,
    pub content_type: String,
    /// The data directory, where the temporary file goes.
    pub data: PathBuf,
    /// The most bytes it may have.
    pub limit: u64,
    staged: Option<StagedUpload>,
}

impl Upload {
    pub fn new(
        node: &Node,
        space: Arc<Space>,
        key: String,
        context: Context,
        filename: String,
        content_type: String,
    ) -> Upload {
        Upload {
            space,
            key,
            context,
            filename,
            content_type,
            data: node.config.data.clone(),
            limit: node.config.max_upload,
            staged: None,
        }
    }

    fn staged(&mut self) -> Result<&mut StagedUpload, i32> {
        if self.staged.is_none() {
            let created = StagedUpload::create(&self.data, self.limit).map_err(|error| {
                tracing::error!(%error, "an upload's temporary file cannot be made");
                codes::UPLOAD_NOT_STORED
            })?;
            self.staged = Some(created);
        }
        self.staged.as_mut().ok_or(codes::UPLOAD_NOT_STORED)
    }

    /// Keeps the received file (an upload without a chunk is an empty file) and attaches it
    /// as the uploader: the asset id and the seq of the attach.
    pub async fn keep_and_attach(mut self, node: &Arc<Node>) -> Result<(String, i32), i32> {
        self.staged()?;
        let Upload {
            space,
            key,
            context,
            filename,
            content_type,
            staged,
            ..
        } = self;
        let staged = staged.ok_or(codes::UPLOAD_NOT_STORED)?;
        keep_and_attach(node, &space, &key, context, filename, content_type, staged).await
    }
}

/// A socket's uploads by the id of their `attachment/start` request.
#[derive(Debug, Default)]
pub struct Uploads(Mutex<HashMap<i64, Upload>>);

impl Uploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Upload>> {
        crate::lock(&self.0)
    }

    pub fn start(&self, id: i64, upload: Upload) {
        self.lock().insert(id, upload);
    }

    /// Adds a chunk (base64, with the hex MD5 of its bytes) to the upload's file. A chunk that
    /// is not what it claims, or that makes the file too large, ends the upload (and its file
    /// is deleted).
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
        let written = match chunk {
            Some(chunk) => upload.staged().and_then(|staged| staged.write(&chunk)),
            None => Err(codes::UPLOAD_CORRUPT_CHUNK),
        };
        if let Err(code) = written {
            uploads.remove(&id);
            return Err(code);
        }
        Ok(())
    }

    pub fn finish(&self, id: i64) -> Option<Upload> {
        self.lock().remove(&id)
    }
}

/// The store's name of a document.
pub fn document_name(space: &str, key: &str) -> String {
    format!("{space}/{key}")
}

/// Keeps a received file of a document and attaches it as `context.who`: the asset id and the
/// seq of the attach. The file is made durable and moved into the store before the attach
/// runs; when the attach is refused, the store forgets it again (in a cluster, every member's).
pub async fn keep_and_attach(
    node: &Arc<Node>,
    space: &Arc<Space>,
    key: &str,
    context: Context,
    filename: String,
    content_type: String,
    staged: StagedUpload,
) -> Result<(String, i32), i32> {
    let id = identity::random_token();
    let document = document_name(&space.name, key);
    let store = Arc::clone(&node.store);
    let (name, asset_id) = (document.clone(), id.clone());
    // In a cluster every member of the partition keeps the file, so its bytes go through the
    // partition's log; a single node moves the staged file into place.
    let clustered = node.cluster.is_some();
    let kept = tokio::task::spawn_blocking(move || {
        let (sealed, digests) = staged.seal().map_err(|error| error.to_string())?;
        let meta = AssetMeta {
            name: filename,
            content_type,
            size: digests.size,
            md5: digests.md5,
            sha384: digests.sha384,
        };
        if clustered {
            let bytes = std::fs::read(sealed.path()).map_err(|error| error.to_string())?;
            return Ok::<_, String>((meta, Some(bytes)));
        }
        store
            .put_asset_file(&name, &asset_id, &meta, sealed.path())
            .map_err(|error| error.to_string())?;
        sealed.taken();
        Ok((meta, None))
    })
    .await;
    let meta = match (kept, &node.cluster) {
        (Ok(Ok((meta, None))), _) => meta,
        (Ok(Ok((meta, Some(bytes)))), Some(cluster)) => {
            if let Err(error) = cluster.keep_file(&document, &id, &meta, &bytes).await {
                tracing::error!(%document, %error, "an uploaded file cannot be kept");
                return Err(codes::UPLOAD_NOT_STORED);
            }
            meta
        }
        (other, _) => {
            tracing::error!(%document, ?other, "an uploaded file cannot be kept");
            return Err(codes::UPLOAD_NOT_STORED);
        }
    };
    let asset = json!({"id": id, "size": meta.size.to_string(), "name": meta.name,
        "type": meta.content_type, "md5": meta.md5, "sha384": meta.sha384, "@gc": "@yes"});
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
            if let Some(cluster) = &node.cluster {
                // Every member kept it through the partition's log; they forget it the same way.
                if let Err(error) = cluster.forget_file(&document, &id).await {
                    tracing::warn!(%document, id, %error, "a file no record attached is kept until the document is deleted");
                }
            } else {
                let store = Arc::clone(&node.store);
                let _ =
                    tokio::task::spawn_blocking(move || store.remove_asset(&document, &id)).await;
            }
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

/// A file of a document as the store keeps it, as a response body: read from its file a
/// chunk at a time when the store keeps files, so a large file is never in memory whole.
pub async fn fetch(
    node: &Arc<Node>,
    document: String,
    id: String,
) -> Option<(AssetMeta, axum::body::Body)> {
    let store = Arc::clone(&node.store);
    let found = tokio::task::spawn_blocking(move || {
        if let Some((meta, path)) = store.asset_file(&document, &id)?
            && let Ok(file) = std::fs::File::open(path)
        {
            return Ok(Some((meta, Served::File(file))));
        }
        Ok::<_, crate::store::StoreError>(
            store
                .asset(&document, &id)?
                .map(|(meta, bytes)| (meta, Served::Bytes(bytes))),
        )
    })
    .await;
    match found {
        Ok(Ok(Some((meta, Served::File(file))))) => Some((meta, file_body(file))),
        Ok(Ok(Some((meta, Served::Bytes(bytes))))) => Some((meta, axum::body::Body::from(bytes))),
        _ => None,
    }
}

enum Served {
    File(std::fs::File),
    Bytes(Vec<u8>),
}

/// A body that reads a file in chunks, each read off the async threads.
fn file_body(file: std::fs::File) -> axum::body::Body {
    let chunks = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buffer = vec![0u8; CHUNK_REQUEST];
            let count = std::io::Read::read(&mut file, &mut buffer)?;
            buffer.truncate(count);
            Ok::<_, std::io::Error>((file, buffer))
        })
        .await
        .unwrap_or_else(|error| Err(std::io::Error::other(error)));
        match read {
            Ok((_, buffer)) if buffer.is_empty() => None,
            Ok((file, buffer)) => Some((Ok(buffer), Some(file))),
            Err(error) => Some((Err(error), None)),
        }
    });
    axum::body::Body::from_stream(chunks)
}

/// The code of a form that does not read: too large for the body limit, or malformed.
fn form_error(error: &axum::extract::multipart::MultipartError) -> i32 {
    if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        codes::UPLOAD_TOO_LARGE
    } else {
        codes::UPLOAD_BAD_FORM
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

/// A file of a form, received into a temporary file.
struct FormFile {
    filename: String,
    content_type: String,
    staged: StagedUpload,
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
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::extract::FromRequest;
    use axum::response::IntoResponse;
    // In a cluster the form is read from the body kept whole, so that the same body can go on
    // to the node that leads the document; a single node streams it to disk part by part.
    let (request, whole) = if node.cluster.is_some() {
        let Ok(body) = axum::body::Bytes::from_request(request, &()).await else {
            return refused(codes::UPLOAD_BAD_FORM);
        };
        let mut again = axum::http::Request::new(axum::body::Body::from(body.clone()));
        *again.headers_mut() = headers.clone();
        (again, Some(body))
    } else {
        (request, None)
    };
    let Ok(mut form) = axum::extract::Multipart::from_request(request, &()).await else {
        return refused(codes::UPLOAD_BAD_FORM);
    };
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut message = serde_json::Map::new();
    let mut files = Vec::new();
    // The files of one form share the node's upload limit.
    let mut room = node.config.max_upload;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return refused(form_error(&error)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(filename) = field.file_name().map(str::to_owned) {
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let mut staged = match StagedUpload::create(&node.config.data, room) {
                Ok(staged) => staged,
                Err(error) => {
                    tracing::error!(%error, "an upload's temporary file cannot be made");
                    return refused(codes::UPLOAD_NOT_STORED);
                }
            };
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if let Err(code) = staged.write(&chunk) {
                            return refused(code);
                        }
                    }
                    Ok(None) => break,
                    Err(error) => return refused(form_error(&error)),
                }
            }
            room -= staged.size();
            files.push(FormFile {
                filename,
                content_type,
                staged,
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
    if let (Some(cluster), Some(body)) = (&node.cluster, whole) {
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
            file.staged,
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
