//! The daemon's HTTP/1.1 server: an accept loop over hyper that keeps answering under load and
//! against slow or idle clients (slowloris).
//!
//! - A client has [`ServerLimits::header_timeout`] to send a request's head, counted from when
//!   the server starts waiting for it: on a new connection, and again after each answer on a
//!   keep-alive one. A connection that sends nothing, or dribbles its headers, is closed then;
//!   so is an idle keep-alive connection.
//! - Each request has [`ServerLimits::request_timeout`] to be read and answered (a body that
//!   trickles in gets 408 and the connection is closed).
//! - At most [`ServerLimits::max_connections`] connections are open at once. One past the cap
//!   is answered 503 and closed at once, so it never waits in a queue behind idle sockets; the
//!   cap bounds the memory and file descriptors clients can hold.
//! - On shutdown it stops listening, closes idle connections and gives the others 2 s to finish
//!   their request: slow clients cannot hold up a SIGTERM.
//!
//! The webhook's own body limit (`--max-body`) is the router's ([`super::router`]).

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::app::{router, App};

/// Default cap on open connections.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 1024;

/// Default time a client has to send a request's head.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time a request has to be read and answered.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// On shutdown, how long a connection still reading or answering a request is given to finish
/// before it is closed (idle ones close at once).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// How long the accept loop waits after a failed accept (out of file descriptors…) before it
/// tries again, so it does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// What one client may hold of the server, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections open at once; one more is answered 503 and closed.
    pub max_connections: u32,
    /// Time to send a request's head, on a new connection or between keep-alive requests.
    pub header_timeout: Duration,
    /// Time for a request to be read and answered; later, it gets 408.
    pub request_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// Serves [`router`] over `app` on `listener` within `limits` until `shutdown` completes, then
/// stops listening, gives every open connection up to 2 s to finish its request
/// (idle ones close at once) and returns.
pub async fn serve(
    listener: TcpListener,
    app: App,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let routes = router(app.clone());
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let refusal = refusal(limits.max_connections);
    let (stop, stopping) = watch::channel(false);
    let mut refusing = false;
    let mut accept_failing = false;
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    if !is_per_connection(&e) {
                        if !accept_failing {
                            tracing::warn!("cannot accept connections: {e}; retrying (raise the open-file limit, `ulimit -n`, or lower --max-connections)");
                        }
                        accept_failing = true;
                        tokio::time::sleep(ACCEPT_RETRY).await;
                    }
                    continue;
                }
            },
        };
        accept_failing = false;
        match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => {
                if refusing {
                    tracing::info!("accepting connections again");
                    refusing = false;
                }
                let connection = Connection {
                    app: app.clone(),
                    _slot: slot,
                };
                app.metrics().connection_opened();
                tokio::spawn(connection.serve(stream, routes.clone(), limits, stopping.clone()));
            }
            Err(_) => {
                if !refusing {
                    tracing::warn!(
                        "{} connections are open, the most allowed (--max-connections): refusing new ones with 503",
                        limits.max_connections
                    );
                    refusing = true;
                }
                app.metrics().connection_refused();
                refuse(stream, &refusal);
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection gives its slot back when it ends.
    let _ = slots.acquire_many(limits.max_connections).await;
}

/// One accepted connection; counted open in `/metrics` and holding its slot until dropped.
struct Connection {
    app: App,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.app.metrics().connection_closed();
    }
}

impl Connection {
    async fn serve(
        self,
        stream: TcpStream,
        routes: Router,
        limits: ServerLimits,
        mut stopping: watch::Receiver<bool>,
    ) {
        let _ = stream.set_nodelay(true);
        let routes = TowerToHyperService::new(routes);
        let app = self.app.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let answer = routes.call(request);
            let app = app.clone();
            async move {
                match tokio::time::timeout(limits.request_timeout, answer).await {
                    Ok(answer) => answer,
                    Err(_) => {
                        app.metrics().request_timed_out();
                        Ok(timed_out(limits.request_timeout))
                    }
                }
            }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let stop = async {
            let _ = stopping.wait_for(|stop| *stop).await;
        };
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            () = stop => {
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
                    Ok(ended) => ended,
                    Err(_) => return,
                }
            }
        };
        if let Err(e) = ended {
            tracing::debug!("connection ended: {e}");
        }
    }
}

/// The answer to a request that was not read and answered in time; the connection closes.
fn timed_out(limit: Duration) -> Response<Body> {
    let mut response = Response::new(Body::from(format!(
        "the request was not received and answered within {limit:?} (--request-timeout)\n"
    )));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

/// The whole answer a connection past the cap gets before it is closed.
fn refusal(max_connections: u32) -> Vec<u8> {
    let body =
        format!("too many open connections ({max_connections}, --max-connections); retry later\n");
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         connection: close\r\nretry-after: 1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Writes `answer` if the socket takes it at once (a new socket's buffer is empty), and closes
/// the connection. What the client sent already is read first, so the close is a FIN after the
/// answer rather than a reset that could discard it.
fn refuse(stream: TcpStream, answer: &[u8]) {
    let _ = stream.try_write(answer);
    let _ = stream.try_read(&mut [0; 4096]);
}

/// Accept errors that concern only the connection being accepted (it was reset before it
/// could be taken), not the listener.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_complete_http_answer() {
        let text = String::from_utf8(refusal(7)).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(body.contains("(7, --max-connections)"), "{body}");
    }
}
