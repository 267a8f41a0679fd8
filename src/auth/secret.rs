//! Secrets at rest: Argon2id password hashes, SHA-256 digests of bearer
//! tokens, and making new tokens. `gamay auth` prints what goes in the
//! auth file.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

/// Prefix of a token digest in the auth file.
pub const TOKEN_PREFIX: &str = "sha256:";

/// An Argon2id hash of `password` in PHC form, with a random salt and the
/// crate's default (OWASP-recommended) cost.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    match Argon2::default().hash_password(password.as_bytes(), &salt) {
        Ok(hash) => hash.to_string(),
        // Hashing only fails on parameters out of range; the defaults are not.
        Err(err) => unreachable!("argon2 with default parameters failed: {err}"),
    }
}

/// Whether `hash` (PHC form) is a well-formed Argon2 hash.
pub fn check_password_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash).map_err(|err| err.to_string())?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(format!(
            "the algorithm `{}` is not supported; use Argon2 (argon2id)",
            parsed.algorithm
        ));
    }
    if parsed.hash.is_none() {
        return Err("the hash has no digest".to_string());
    }
    Ok(())
}

/// Whether `password` matches the Argon2 `hash`. Takes milliseconds.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A new bearer token (32 random bytes, hex) and its digest as the auth
/// file holds it.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = format!("gmy_{}", hex(&bytes));
    let digest = token_digest(&token);
    (token, digest)
}

/// `sha256:<hex>` of a token.
pub fn token_digest(token: &str) -> String {
    format!("{TOKEN_PREFIX}{}", hex(&sha256(token.as_bytes())))
}

/// Reads a `sha256:<64 hex digits>` digest.
pub fn parse_token_digest(text: &str) -> Result<[u8; 32], String> {
    let hex_text = text.strip_prefix(TOKEN_PREFIX).ok_or_else(|| {
        format!("a token must be given as `{TOKEN_PREFIX}<hex digest>`, as `gamay auth token` prints it")
    })?;
    if hex_text.len() != 64 || !hex_text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("a token digest must be 64 hexadecimal digits".to_string());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex_text[2 * i..2 * i + 2], 16)
            .map_err(|_| "a token digest must be hexadecimal".to_string())?;
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
