//! The node's own ES256 keys: the identities a document issues (logins, `sign(agent)`) are
//! tokens signed with the current key (protocol spec §3.2: `iss` = `doc/<space>/<key>`, `sub` =
//! the agent, an integer `kid` claim naming the key, `iat` and `exp`).
//!
//! The keys live in the data directory, so tokens issued before a restart still verify after
//! it: `node-key.pem` holds the current private key, and `node-keys/<kid>.pem` the public half
//! of each retired key. A rotation ([`rotate`]) retires the current key and makes a new one;
//! tokens of a retired key keep verifying until their `exp`, and removing a retired key
//! ([`remove`]) refuses its tokens from then on. A running node notices these files change.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::LineEnding;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use serde_json::json;
use sha2::{Digest, Sha256};

/// The file in the data directory that holds the current private key (PKCS#8 PEM).
pub const KEY_FILE: &str = "node-key.pem";
/// The folder in the data directory that holds the public keys of retired keys, one
/// `<kid>.pem` each.
pub const RETIRED_DIR: &str = "node-keys";
/// How long a token the node issues stays valid, unless the node is told otherwise
/// (`adama serve --token-lifetime`).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// A key pair of the node's own.
#[derive(Clone)]
pub struct NodeKey {
    signing: SigningKey,
    /// The `kid` of the tokens it signs, derived from the public key so that it stays the
    /// same across restarts and differs between keys.
    pub kid: i64,
}

impl std::fmt::Debug for NodeKey {
    // The private half is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeKey {{ kid: {} }}", self.kid)
    }
}

impl NodeKey {
    /// Reads the current key of the data directory, or makes one and writes it there
    /// (readable by the owner only) when there is none yet.
    pub fn load_or_create(data: &Path) -> Result<NodeKey, String> {
        let path = data.join(KEY_FILE);
        match read_current(&path)? {
            Some(key) => Ok(key),
            None => {
                let key = NodeKey::generate()?;
                key.write_new(&path)?;
                Ok(key)
            }
        }
    }

    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Result<NodeKey, String> {
        loop {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|error| format!("no randomness: {error}"))?;
            // A scalar of zero or beyond the group order is refused; draw again.
            if let Ok(signing) = SigningKey::from_slice(&secret) {
                return Ok(NodeKey::from_signing(signing));
            }
        }
    }

    fn from_signing(signing: SigningKey) -> NodeKey {
        let kid = kid_of(signing.verifying_key());
        NodeKey { signing, kid }
    }

    fn pem(&self) -> Result<String, String> {
        self.signing
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|error| format!("cannot encode the node key: {error}"))
    }

    /// Writes the key to a file that must not exist yet.
    fn write_new(&self, path: &Path) -> Result<(), String> {
        write_private(path, &self.pem()?, true)
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        self.signing.verifying_key()
    }

    /// The identity a document issues to `agent`, valid for the default lifetime.
    pub fn issue(&self, space: &str, key: &str, agent: &str) -> String {
        self.issue_for(space, key, agent, DEFAULT_TOKEN_LIFETIME)
    }

    /// The identity a document issues to `agent`: a compact ES256 token whose principal is
    /// `(agent, doc/<space>/<key>)`, which expires `lifetime` from now. The `kid` is both in
    /// the header, where JOSE libraries look, and a claim, where the protocol puts it.
    pub fn issue_for(&self, space: &str, key: &str, agent: &str, lifetime: Duration) -> String {
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = url.encode(json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}).to_string());
        let issued_at = unix_now();
        let claims = json!({
            "iss": format!("doc/{space}/{key}"),
            "sub": agent,
            "kid": self.kid,
            "iat": issued_at,
            "exp": issued_at.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)),
        });
        let payload = url.encode(claims.to_string());
        let signed = format!("{header}.{payload}");
        let signature: Signature = self.signing.sign(signed.as_bytes());
        format!("{signed}.{}", url.encode(signature.to_bytes()))
    }
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// The id of a public key: the first four bytes of the SHA-256 of its compressed point.
fn kid_of(key: &VerifyingKey) -> i64 {
    let point = key.to_encoded_point(true);
    let digest = Sha256::digest(point.as_bytes());
    i64::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ]))
}

fn read_current(path: &Path) -> Result<Option<NodeKey>, String> {
    match std::fs::read_to_string(path) {
        Ok(pem) => {
            let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|error| {
                format!(
                    "{}: not a P-256 private key in PKCS#8 PEM ({error}); move the file away to \
                     make a new key (identities issued with the old one stop verifying)",
                    path.display()
                )
            })?;
            Ok(Some(NodeKey::from_signing(signing)))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("{}: cannot read: {error}", path.display())),
    }
}

/// Writes a private key readable by its owner only; `fresh` refuses to replace a file.
fn write_private(path: &Path, pem: &str, fresh: bool) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| format!("{}: cannot create: {error}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if fresh {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|error| format!("{}: cannot create: {error}", path.display()))?;
    std::io::Write::write_all(&mut file, pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| format!("{}: cannot write: {error}", path.display()))
}

/// A retired key: it signs nothing any more, and verifies what it signed.
#[derive(Debug, Clone)]
pub struct RetiredKey {
    pub kid: i64,
    pub key: VerifyingKey,
    /// When it was retired (the file's modification time), for `adama keys list`.
    pub retired: Option<SystemTime>,
}

/// The keys of a data directory: the current one and the retired ones; in a cluster, also the
/// other nodes' public keys, so that an identity any node's documents issued verifies here.
#[derive(Debug, Clone)]
pub struct KeyRing {
    pub current: NodeKey,
    pub retired: Vec<RetiredKey>,
    /// The public keys of the cluster's other nodes (current and retired), as they last said.
    pub peers: Vec<PeerKey>,
}

/// A public key of another node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerKey {
    pub kid: i64,
    pub key: VerifyingKey,
}

impl PeerKey {
    /// A key from its PEM text; `kid` is derived from it, never taken on trust.
    pub fn from_pem(pem: &str) -> Result<PeerKey, String> {
        let key = VerifyingKey::from_public_key_pem(pem)
            .map_err(|error| format!("not a P-256 public key in PEM: {error}"))?;
        Ok(PeerKey {
            kid: kid_of(&key),
            key,
        })
    }
}

impl KeyRing {
    /// Reads the keys of a data directory, making the current key when there is none.
    pub fn load_or_create(data: &Path) -> Result<KeyRing, String> {
        let current = NodeKey::load_or_create(data)?;
        Ok(KeyRing {
            current,
            retired: read_retired(data)?,
            peers: Vec::new(),
        })
    }

    /// The public keys of this ring's own (current first, then the retired ones) in PEM, which
    /// the other nodes of a cluster verify this node's identities with.
    pub fn public_pems(&self) -> Result<Vec<String>, String> {
        std::iter::once(self.current.verifying_key())
            .chain(self.retired.iter().map(|retired| &retired.key))
            .map(|key| {
                key.to_public_key_pem(LineEnding::LF)
                    .map_err(|error| format!("cannot encode a public key: {error}"))
            })
            .collect()
    }

    /// The public key that verifies tokens of `kid`; `None` for a key this node does not
    /// have (never had, or removed).
    pub fn verifying(&self, kid: i64) -> Option<&VerifyingKey> {
        if kid == self.current.kid {
            return Some(self.current.verifying_key());
        }
        self.retired
            .iter()
            .find(|retired| retired.kid == kid)
            .map(|retired| &retired.key)
            .or_else(|| {
                self.peers
                    .iter()
                    .find(|peer| peer.kid == kid)
                    .map(|peer| &peer.key)
            })
    }
}

fn read_retired(data: &Path) -> Result<Vec<RetiredKey>, String> {
    let dir = data.join(RETIRED_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("{}: cannot read: {error}", dir.display())),
    };
    let mut retired = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| format!("{}: cannot read: {error}", dir.display()))?;
        let path = entry.path();
        // Files being written by a rotation end in `.tmp`; anything else is no key of ours.
        if path.extension().and_then(|ext| ext.to_str()) != Some("pem") {
            continue;
        }
        let pem = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: cannot read: {error}", path.display()))?;
        let key = VerifyingKey::from_public_key_pem(&pem).map_err(|error| {
            format!(
                "{}: not a P-256 public key in PEM ({error}); remove the file to stop \
                 accepting the tokens of that key",
                path.display()
            )
        })?;
        retired.push(RetiredKey {
            kid: kid_of(&key),
            key,
            retired: entry.metadata().and_then(|meta| meta.modified()).ok(),
        });
    }
    retired.sort_by_key(|key| key.kid);
    Ok(retired)
}

/// What the key files looked like when last read: a rotation or removal changes it.
type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

fn fingerprint(data: &Path) -> Fingerprint {
    let stat = |path: PathBuf| {
        let meta = std::fs::metadata(&path).ok();
        let len = meta.as_ref().map_or(0, std::fs::Metadata::len);
        let modified = meta.and_then(|meta| meta.modified().ok());
        (path, len, modified)
    };
    let mut all = vec![stat(data.join(KEY_FILE))];
    if let Ok(entries) = std::fs::read_dir(data.join(RETIRED_DIR)) {
        let mut retired: Vec<_> = entries.flatten().map(|entry| stat(entry.path())).collect();
        retired.sort();
        all.extend(retired);
    }
    all
}

/// The node's key ring as a running node holds it: it signs with the current key, verifies
/// with all of them, and reads the files again when a rotation changed them.
#[derive(Debug)]
pub struct NodeKeys {
    data: PathBuf,
    ring: RwLock<Arc<KeyRing>>,
    seen: Mutex<Fingerprint>,
    /// How long the tokens it issues stay valid.
    pub lifetime: Duration,
}

impl NodeKeys {
    pub fn open(data: &Path, lifetime: Duration) -> Result<NodeKeys, String> {
        let ring = KeyRing::load_or_create(data)?;
        Ok(NodeKeys {
            data: data.to_owned(),
            ring: RwLock::new(Arc::new(ring)),
            seen: Mutex::new(fingerprint(data)),
            lifetime,
        })
    }

    /// The ring as it is now.
    pub fn ring(&self) -> Arc<KeyRing> {
        Arc::clone(
            &self
                .ring
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Issues a token with the current key (see [`NodeKey::issue_for`]).
    pub fn issue(&self, space: &str, key: &str, agent: &str) -> String {
        self.ring()
            .current
            .issue_for(space, key, agent, self.lifetime)
    }

    /// Reads the key files again when they changed since the last read. A ring that does not
    /// read (a file half written by hand) leaves the last good one in use.
    pub fn refresh(&self) -> Result<bool, String> {
        let now = fingerprint(&self.data);
        let mut seen = crate::lock(&self.seen);
        if *seen == now {
            return Ok(false);
        }
        let mut ring = KeyRing::load_or_create(&self.data)?;
        *seen = fingerprint(&self.data);
        let mut held = self
            .ring
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ring.peers = held.peers.clone();
        *held = Arc::new(ring);
        Ok(true)
    }

    /// Takes the other nodes' public keys (a cluster shares them, `cluster/keys.rs`); whether
    /// they changed.
    pub fn set_peers(&self, mut peers: Vec<PeerKey>) -> bool {
        peers.sort_by_key(|peer| peer.kid);
        peers.dedup_by_key(|peer| peer.kid);
        let mut held = self
            .ring
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.peers == peers {
            return false;
        }
        let mut ring = KeyRing::clone(&held);
        ring.peers = peers;
        *held = Arc::new(ring);
        true
    }
}

/// How often a running node looks at its key files.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// Keeps a node's keys in step with its key files while the node runs.
pub async fn watch(keys: std::sync::Weak<crate::node::Node>) {
    let mut failing = false;
    loop {
        tokio::time::sleep(REFRESH_EVERY).await;
        let Some(node) = keys.upgrade() else {
            return;
        };
        let refreshed = tokio::task::spawn_blocking(move || node.keys.refresh()).await;
        match refreshed {
            Ok(Ok(true)) => {
                failing = false;
                tracing::info!("the node's keys changed on disk and were read again");
            }
            Ok(Ok(false)) => failing = false,
            Ok(Err(message)) if !failing => {
                failing = true;
                tracing::error!(%message, "the node's key files do not read; the last keys stay in use");
            }
            _ => {}
        }
    }
}

/// What [`rotate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub retired: i64,
    pub current: i64,
}

/// Retires the current key of a data directory (its public half is kept to verify what it
/// signed) and makes a new current key. Made in an order that a node reading the files at any
/// moment sees every key it needs: the retired copy is in place before the new key replaces
/// the old one, and the replacement is a rename.
pub fn rotate(data: &Path) -> Result<Rotation, String> {
    let path = data.join(KEY_FILE);
    let Some(old) = read_current(&path)? else {
        return Err(format!(
            "{}: there is no key to rotate (a node makes one on its first start)",
            path.display()
        ));
    };
    let public = old
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|error| format!("cannot encode a public key: {error}"))?;
    let dir = data.join(RETIRED_DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("{}: cannot create: {error}", dir.display()))?;
    let retired = dir.join(format!("{}.pem", old.kid));
    let staged = dir.join(format!("{}.pem.tmp", old.kid));
    std::fs::write(&staged, public)
        .and_then(|()| std::fs::rename(&staged, &retired))
        .map_err(|error| format!("{}: cannot write: {error}", retired.display()))?;
    let new = NodeKey::generate()?;
    let staged = data.join(format!("{KEY_FILE}.tmp"));
    write_private(&staged, &new.pem()?, false)?;
    std::fs::rename(&staged, &path)
        .map_err(|error| format!("{}: cannot replace: {error}", path.display()))?;
    Ok(Rotation {
        retired: old.kid,
        current: new.kid,
    })
}

/// Removes a retired key: the tokens it signed are refused from then on. The current key
/// cannot be removed (rotate first).
pub fn remove(data: &Path, kid: i64) -> Result<(), String> {
    if let Some(current) = read_current(&data.join(KEY_FILE))?
        && current.kid == kid
    {
        return Err(format!(
            "key {kid} is the current key; rotate first (adama keys rotate --data {}), then \
             remove it",
            data.display()
        ));
    }
    let path = data.join(RETIRED_DIR).join(format!("{kid}.pem"));
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let known: Vec<String> = read_retired(data)?
                .iter()
                .map(|key| key.kid.to_string())
                .collect();
            Err(format!(
                "there is no retired key {kid} in {} (retired keys: {})",
                data.display(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        }
        Err(error) => Err(format!("{}: cannot remove: {error}", path.display())),
    }
}

/// The keys of a data directory without making one: the current key's id and the retired
/// keys. `None` for the current key when there is none yet.
pub fn list(data: &Path) -> Result<(Option<i64>, Vec<RetiredKey>), String> {
    let current = read_current(&data.join(KEY_FILE))?.map(|key| key.kid);
    Ok((current, read_retired(data)?))
}
