//! The service's dependency (`LEAKY_DEPENDENCY_URL`, e.g. `http://db:8080/health`), checked in
//! the background every [`CHECK_INTERVAL`] with a [`CHECK_TIMEOUT`], so that `/health` and `/`
//! can answer 503 while it does not answer, at the cost of one small request per interval.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How often the dependency is checked.
const CHECK_INTERVAL: Duration = Duration::from_millis(150);
/// How long one check may take before the dependency counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_millis(300);

/// Whether the dependency answered its last check.
#[derive(Debug)]
pub(crate) struct Dependency {
    up: AtomicBool,
}

/// `http://host[:port][/path]` as the address to dial and the path to ask; `None` otherwise.
pub(crate) fn parse_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.split(':').next().unwrap_or_default();
    if host.is_empty() || authority.chars().any(char::is_whitespace) {
        return None;
    }
    let address = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let path = if path.is_empty() { "/" } else { path };
    Some((address, path.to_owned()))
}

impl Dependency {
    /// Starts checking `url` (a URL [`parse_url`] accepts) in the background, if a Tokio runtime
    /// runs. Down until the first check answers; the checks stop when this is dropped.
    pub(crate) fn watch(url: &str) -> Arc<Dependency> {
        let dependency = Arc::new(Dependency {
            up: AtomicBool::new(false),
        });
        let runtime = tokio::runtime::Handle::try_current();
        if let (Some((address, path)), Ok(runtime)) = (parse_url(url), runtime) {
            runtime.spawn(check_until_dropped(
                Arc::downgrade(&dependency),
                address,
                path,
            ));
        }
        dependency
    }

    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }
}

async fn check_until_dropped(dependency: Weak<Dependency>, address: String, path: String) {
    let mut ticks = tokio::time::interval(CHECK_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let up = answers(&address, &path).await;
        let Some(dependency) = dependency.upgrade() else {
            return;
        };
        dependency.up.store(up, Ordering::Relaxed);
    }
}

/// One `GET path` to `address`: does a 2xx status come back within [`CHECK_TIMEOUT`]?
async fn answers(address: &str, path: &str) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
        let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        // "HTTP/1.x 200": the status code's first digit is the tenth byte.
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(head.starts_with(b"HTTP/1.") && head[9] == b'2')
    };
    matches!(
        tokio::time::timeout(CHECK_TIMEOUT, attempt).await,
        Ok(Some(true))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_and_path() {
        assert_eq!(
            parse_url("http://db:8080/health"),
            Some(("db:8080".to_owned(), "/health".to_owned()))
        );
        assert_eq!(
            parse_url("http://db"),
            Some(("db:80".to_owned(), "/".to_owned()))
        );
        for bad in [
            "db:8080/health",
            "https://db/",
            "http:///health",
            "http://d b/",
        ] {
            assert_eq!(parse_url(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn the_dependency_is_up_while_it_answers_2xx() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let statuses = ["200 OK", "503 Service Unavailable"];
        tokio::spawn(async move {
            for status in statuses {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = [0u8; 64];
                let _ = stream.read(&mut request).await;
                let reply = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
                stream.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        let address = address.to_string();
        assert!(answers(&address, "/health").await);
        assert!(!answers(&address, "/health").await);
        // Nobody listens any more.
        assert!(!answers(&address, "/health").await);
    }
}
