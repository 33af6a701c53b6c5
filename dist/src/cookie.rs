//! The magic cookie and the handshake digest made from it.

use md5::{Digest, Md5};
use std::fmt;
use std::path::PathBuf;

/// The shared secret two nodes must both hold to connect.
///
/// Its `Debug` output does not show the secret.
///
/// ```
/// let c = ember_dist::Cookie::new("secret");
/// assert_eq!(format!("{c:?}"), "Cookie(..)");
/// // The digest of challenge 1 is MD5("secret1").
/// assert_eq!(c.digest(1).len(), 16);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie(String);

impl Cookie {
    /// A cookie given explicitly (as `erl -setcookie`).
    ///
    /// ```
    /// let _ = ember_dist::Cookie::new("c");
    /// ```
    pub fn new(secret: &str) -> Cookie {
        Cookie(secret.to_owned())
    }

    /// The cookie in `~/.erlang.cookie`, as `erl` reads it (the file's first
    /// line, without surrounding whitespace). An error if `HOME` is unset or
    /// the file cannot be read or is empty.
    ///
    /// ```no_run
    /// let cookie = ember_dist::Cookie::from_home().unwrap();
    /// ```
    pub fn from_home() -> std::io::Result<Cookie> {
        let home = std::env::var_os("HOME")
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "HOME is not set"))?;
        let path = PathBuf::from(home).join(".erlang.cookie");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let secret = text.lines().next().unwrap_or("").trim();
        if secret.is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{} is empty", path.display())));
        }
        Ok(Cookie::new(secret))
    }

    /// The handshake digest: MD5 of the cookie followed by the challenge in
    /// decimal.
    ///
    /// ```
    /// let d = ember_dist::Cookie::new("c").digest(42);
    /// assert_ne!(d, ember_dist::Cookie::new("d").digest(42));
    /// ```
    pub fn digest(&self, challenge: u32) -> [u8; 16] {
        let mut h = Md5::new();
        h.update(self.0.as_bytes());
        h.update(challenge.to_string().as_bytes());
        h.finalize().into()
    }

    /// Whether `digest` answers `challenge` under this cookie, compared in
    /// constant time.
    pub(crate) fn verify(&self, challenge: u32, digest: &[u8; 16]) -> bool {
        let want = self.digest(challenge);
        want.iter().zip(digest).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cookie(..)")
    }
}
