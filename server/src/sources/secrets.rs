//! Partner secrets (tokens, passwords) encrypted at rest with the server key: sealed before
//! they reach storage, opened only to talk to the partner, never logged nor sent back.

use std::path::Path;

use app::domain::FieldValues;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const VERSION: &str = "v1:";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("BILLETIX_SECRET_KEY must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error("cannot read or create the secret key file {path}: {source}")]
    File { path: String, source: std::io::Error },
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("stored secrets are not in a known format")]
    Format,
    #[error("stored secrets do not open with this server's key (was BILLETIX_SECRET_KEY changed?)")]
    WrongKey,
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl SecretBox {
    pub fn from_hex(key: &str) -> Result<Self, SecretKeyError> {
        let bytes = hex::decode(key.trim()).map_err(|_| SecretKeyError::BadKey)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SecretKeyError::BadKey)?;
        Ok(Self { cipher })
    }

    /// The key in `path`, made on first use (every process of one deployment must share it:
    /// with several servers, set `BILLETIX_SECRET_KEY` instead).
    pub fn from_file(path: &Path) -> Result<Self, SecretKeyError> {
        let file_error = |source| SecretKeyError::File { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(key) => Self::from_hex(&key),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = hex::encode(XChaCha20Poly1305::generate_key(&mut OsRng));
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(file_error)?;
                }
                write_private(path, &key).map_err(file_error)?;
                Self::from_hex(&key)
            }
            Err(e) => Err(file_error(e)),
        }
    }

    pub fn seal(&self, secrets: &FieldValues) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let plain = serde_json::to_vec(secrets).unwrap_or_default();
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let sealed = self.cipher.encrypt(&nonce, plain.as_slice()).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{VERSION}{}", hex::encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<FieldValues, OpenError> {
        let bytes = sealed.strip_prefix(VERSION).and_then(|h| hex::decode(h).ok()).ok_or(OpenError::Format)?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError::Format);
        }
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let plain = self.cipher.decrypt(XNonce::from_slice(nonce), body).map_err(|_| OpenError::WrongKey)?;
        serde_json::from_slice(&plain).map_err(|_| OpenError::Format)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> FieldValues {
        [("token".to_owned(), "s3cr3t-token".to_owned())].into()
    }

    #[test]
    fn sealed_secrets_open_with_the_same_key_only_and_do_not_show_the_value() {
        let key = "11".repeat(32);
        let one = SecretBox::from_hex(&key).expect("key");
        let sealed = one.seal(&secrets());
        assert!(!sealed.contains("s3cr3t"));
        assert_eq!(one.open(&sealed).ok(), Some(secrets()));
        let other = SecretBox::from_hex(&"22".repeat(32)).expect("key");
        assert!(matches!(other.open(&sealed), Err(OpenError::WrongKey)));
    }

    #[test]
    fn a_short_key_is_refused() {
        assert!(matches!(SecretBox::from_hex("abcd"), Err(SecretKeyError::BadKey)));
    }

    #[test]
    fn the_key_file_is_made_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("billetix-key-{}", std::process::id()));
        let path = dir.join("secret.key");
        let sealed = SecretBox::from_file(&path).expect("made").seal(&secrets());
        assert_eq!(SecretBox::from_file(&path).expect("read").open(&sealed).ok(), Some(secrets()));
        let _ = std::fs::remove_dir_all(dir);
    }
}
