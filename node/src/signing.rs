//! The node's own ES256 key: the identities a document issues (logins, `sign(agent)`) are
//! tokens signed with it (protocol spec §3.2: `iss` = `doc/<space>/<key>`, `sub` = the agent,
//! an integer `kid` claim naming this key). The key is made on the first start and kept in the
//! data directory, so tokens issued before a restart still verify after it.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::json;
use sha2::{Digest, Sha256};

/// The file in the data directory that holds the private key (PKCS#8 PEM).
pub const KEY_FILE: &str = "node-key.pem";

/// A key pair of the node's own.
pub struct NodeKey {
    signing: SigningKey,
    /// The `kid` claim of the tokens it signs, derived from the public key so that it stays the
    /// same across restarts and differs between nodes.
    pub kid: i64,
}

impl std::fmt::Debug for NodeKey {
    // The private half is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeKey {{ kid: {} }}", self.kid)
    }
}

impl NodeKey {
    /// Reads the key of the data directory, or makes one and writes it there (readable by the
    /// owner only) when there is none yet.
    pub fn load_or_create(data: &Path) -> Result<NodeKey, String> {
        let path = data.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(pem) => {
                let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|error| {
                    format!(
                        "{}: not a P-256 private key in PKCS#8 PEM ({error}); move the file away to \
                         make a new key (identities issued with the old one stop verifying)",
                        path.display()
                    )
                })?;
                Ok(NodeKey::from_signing(signing))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = NodeKey::generate()?;
                key.write(&path)?;
                Ok(key)
            }
            Err(error) => Err(format!("{}: cannot read: {error}", path.display())),
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
        let point = signing.verifying_key().to_encoded_point(true);
        let digest = Sha256::digest(point.as_bytes());
        let kid = i64::from(u32::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]));
        NodeKey { signing, kid }
    }

    fn write(&self, path: &PathBuf) -> Result<(), String> {
        let pem = self
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|error| format!("cannot encode the node key: {error}"))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("{}: cannot create: {error}", parent.display()))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .map_err(|error| format!("{}: cannot create: {error}", path.display()))?;
        std::io::Write::write_all(&mut file, pem.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|error| format!("{}: cannot write: {error}", path.display()))
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        self.signing.verifying_key()
    }

    /// The identity a document issues to `agent`: a compact ES256 token whose principal is
    /// `(agent, doc/<space>/<key>)`.
    pub fn issue(&self, space: &str, key: &str, agent: &str) -> String {
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = url.encode(json!({"alg": "ES256", "typ": "JWT"}).to_string());
        let issued_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let claims = json!({
            "iss": format!("doc/{space}/{key}"),
            "sub": agent,
            "kid": self.kid,
            "iat": issued_at,
        });
        let payload = url.encode(claims.to_string());
        let signed = format!("{header}.{payload}");
        let signature: Signature = self.signing.sign(signed.as_bytes());
        format!("{signed}.{}", url.encode(signature.to_bytes()))
    }
}
