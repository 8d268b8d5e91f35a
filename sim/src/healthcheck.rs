//! `sim target probe <url>`: the command a Docker HEALTHCHECK runs inside the built-in target's
//! scratch image (no shell, no curl there). One HTTP/1.0 GET over plain TCP; healthy on a 2xx.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long one probe may take, connect to status line.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    #[error("not an http://host:port/path URL: {0:?}")]
    BadUrl(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no HTTP status line in the answer")]
    NoStatus,
    #[error("status {0}")]
    Status(u16),
}

/// GETs `url` (plain `http://`) within `timeout`; `Ok(status)` on a 2xx.
pub fn probe(url: &str, timeout: Duration) -> Result<u16, ProbeError> {
    let (authority, path) = split_url(url).ok_or_else(|| ProbeError::BadUrl(url.to_owned()))?;
    let address = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| ProbeError::BadUrl(url.to_owned()))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // One write: a request split over several segments can meet a server that answers (and
    // closes) after the first one.
    let request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut head = [0u8; 64];
    let mut len = 0;
    while len < 12 {
        match stream.read(&mut head[len..])? {
            0 => break,
            n => len += n,
        }
    }
    let status = status_code(&head[..len]).ok_or(ProbeError::NoStatus)?;
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(ProbeError::Status(status))
    }
}

/// `("host:port", "/path")` of an `http://` URL; the port defaults to 80, the path to `/`.
fn split_url(url: &str) -> Option<(String, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return None;
    }
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Some((authority, path))
}

/// The status code of an `HTTP/1.x NNN …` status line.
fn status_code(head: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(head.get(..12)?).ok()?;
    let code = text.strip_prefix("HTTP/1.")?.get(2..5)?;
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves one connection with `answer` on a loopback port and returns the probe URL.
    fn serve_once(answer: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            // Read the whole request head before answering: closing with unread bytes would
            // reset the connection under the client.
            let mut request = Vec::new();
            let mut buf = [0u8; 256];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            conn.write_all(answer.as_bytes()).unwrap();
        });
        format!("http://127.0.0.1:{port}/health")
    }

    #[test]
    fn a_2xx_is_healthy_anything_else_is_not() {
        let ok = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        assert_eq!(probe(&ok, PROBE_TIMEOUT).unwrap(), 200);
        let down = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert!(matches!(
            probe(&down, PROBE_TIMEOUT),
            Err(ProbeError::Status(503))
        ));
        let garbage = serve_once("hello");
        assert!(matches!(
            probe(&garbage, PROBE_TIMEOUT),
            Err(ProbeError::NoStatus)
        ));
    }

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/health"),
            Some(("127.0.0.1:8080".to_owned(), "/health"))
        );
        assert_eq!(split_url("http://h"), Some(("h:80".to_owned(), "/")));
        assert_eq!(split_url("https://h/"), None);
        assert!(matches!(
            probe("ftp://x", PROBE_TIMEOUT),
            Err(ProbeError::BadUrl(_))
        ));
    }

    #[test]
    fn a_closed_port_is_unhealthy() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/health");
        assert!(matches!(probe(&url, PROBE_TIMEOUT), Err(ProbeError::Io(_))));
    }
}
