//! Where an observer listens: a Unix socket path or a loopback TCP address.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// Where an observer listens (see [`super::serve`]).
///
/// Parsed from `unix:PATH`, a bare path (anything with a `/`), `tcp:IP:PORT`
/// or a bare `IP:PORT`. TCP must be on loopback (`127.0.0.1` or `::1`): the
/// observer has no authentication, so it is never exposed beyond the host.
///
/// ```
/// use ember_runtime::observer::ObserverAddr;
/// assert!(matches!("unix:/tmp/a.sock".parse(), Ok(ObserverAddr::Unix(_))));
/// assert!(matches!("/tmp/a.sock".parse(), Ok(ObserverAddr::Unix(_))));
/// assert!(matches!("127.0.0.1:9000".parse(), Ok(ObserverAddr::Tcp(_))));
/// assert!("0.0.0.0:9000".parse::<ObserverAddr>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObserverAddr {
    /// A Unix-domain socket at this path.
    Unix(PathBuf),
    /// A loopback TCP address.
    Tcp(SocketAddr),
}

/// An observer address that does not parse, or is not loopback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseAddrError(String);

impl fmt::Display for ParseAddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseAddrError {}

impl FromStr for ObserverAddr {
    type Err = ParseAddrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(ParseAddrError("unix: needs a path".into()));
            }
            return Ok(ObserverAddr::Unix(path.into()));
        }
        let tcp = s.strip_prefix("tcp:");
        if tcp.is_none() && s.contains('/') {
            return Ok(ObserverAddr::Unix(s.into()));
        }
        let text = tcp.unwrap_or(s);
        let addr: SocketAddr = text.parse().map_err(|_| {
            ParseAddrError(format!("not an observer address (unix:PATH, a path, or 127.0.0.1:PORT): {s:?}"))
        })?;
        if !addr.ip().is_loopback() {
            return Err(ParseAddrError(format!(
                "the observer listens on loopback only (127.0.0.1 or ::1), not {addr}"
            )));
        }
        Ok(ObserverAddr::Tcp(addr))
    }
}

impl fmt::Display for ObserverAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObserverAddr::Unix(path) => write!(f, "unix:{}", path.display()),
            ObserverAddr::Tcp(addr) => write!(f, "tcp:{addr}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_display_round_trip() {
        for text in ["unix:/tmp/x.sock", "tcp:127.0.0.1:4000", "tcp:[::1]:4000"] {
            let addr: ObserverAddr = text.parse().unwrap();
            assert_eq!(addr.to_string(), text);
        }
        assert_eq!("./x.sock".parse::<ObserverAddr>().unwrap(), ObserverAddr::Unix("./x.sock".into()));
    }

    #[test]
    fn only_loopback_and_well_formed_addresses_are_accepted() {
        for bad in ["", "unix:", "0.0.0.0:1", "192.168.1.1:80", "tcp:10.0.0.1:1", "localhost", "tcp:", "1234"] {
            assert!(bad.parse::<ObserverAddr>().is_err(), "{bad:?} accepted");
        }
    }
}
