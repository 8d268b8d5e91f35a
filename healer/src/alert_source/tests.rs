//! The alert source's checks against local HTTP servers (127.0.0.1) that stop answering, answer
//! 503 or never answer, then answer again: lost after two failed checks, once, restored once.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use journal::{Event, MemorySink, Sink};
use tokio::net::TcpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;

/// Fast checks, so a test takes well under a second per loss.
fn fast(source: AlertSource) -> AlertSource {
    source.checked_every(Duration::from_millis(50), Duration::from_millis(200))
}

/// An HTTP server on 127.0.0.1 answering `GET /-/healthy` with `status` (or never, for
/// `None`), counting the checks it got; stopped gracefully, so kept-alive connections close too.
struct Server {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(addr: SocketAddr, status: Option<StatusCode>) -> Server {
        // Reusable at once, so a restarted server gets the same port.
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(addr).unwrap();
        let listener = socket.listen(64).unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        let app = Router::new().route(
            "/-/healthy",
            get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    match status {
                        Some(status) => status,
                        None => std::future::pending().await,
                    }
                }
            }),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Server {
            addr,
            hits,
            stop: Some(stop),
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/-/healthy", self.addr)
    }

    /// Stops it; once this returns, nothing listens on its port.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Polls `done` every 10 ms for at most 10 s; fails with every event so far.
async fn until(sink: &MemorySink, what: &str, done: impl Fn(&[Event]) -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while !done(&sink.events()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "no {what}; events: {:#?}", sink.events());
}

fn lost(events: &[Event]) -> Vec<(&str, &str, &str)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::SourceLost {
                source,
                detail,
                fallback,
            } => Some((source.as_str(), detail.as_str(), fallback.as_str())),
            _ => None,
        })
        .collect()
}

fn restored(events: &[Event]) -> Vec<(&str, f64, &str)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::SourceRestored {
                source,
                down_ms,
                detail,
            } => Some((source.as_str(), *down_ms, detail.as_str())),
            _ => None,
        })
        .collect()
}

fn watch(source: &AlertSource, sink: &Arc<MemorySink>) -> AlertWatch {
    let sink: Arc<dyn Sink> = sink.clone();
    AlertWatch::start(Some(source), &[], &reqwest::Client::new(), &sink)
}

#[tokio::test]
async fn a_part_that_stops_answering_is_lost_once_and_restored_once_when_it_answers_again() {
    let alertmanager = Server::start(any_port(), Some(StatusCode::OK)).await;
    let prometheus = Server::start(any_port(), Some(StatusCode::OK)).await;
    let (addr, url) = (alertmanager.addr, alertmanager.url());
    let source = fast(
        AlertSource::new()
            .part("alertmanager", &url)
            .part("prometheus", prometheus.url()),
    );
    let sink = Arc::new(MemorySink::default());
    let watch = watch(&source, &sink);
    let status = watch.status();

    // Both answer: several checks each, nothing lost.
    let hits = Arc::clone(&alertmanager.hits);
    tokio::time::timeout(Duration::from_secs(10), async {
        while hits.load(Ordering::SeqCst) < 3 || prometheus.hits.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("both parts are checked");
    assert!(!status.is_lost());
    assert!(lost(&sink.events()).is_empty());

    alertmanager.stop().await;
    until(&sink, "source_lost", |events| !lost(events).is_empty()).await;
    assert!(status.is_lost());
    let events = sink.events();
    let [(source, detail, fallback)] = lost(&events)[..] else {
        panic!("{events:#?}");
    };
    assert_eq!(source, "alertmanager");
    assert!(
        detail.starts_with(&format!("{url}: cannot connect: ")),
        "{detail}"
    );
    assert!(
        detail.ends_with("(2 failed checks in a row): no alert can arrive"),
        "{detail}"
    );
    assert_eq!(fallback, "none needed: no runbook acts on alerts");

    let again = Server::start(addr, Some(StatusCode::OK)).await;
    until(&sink, "source_restored", |events| {
        !restored(events).is_empty()
    })
    .await;
    assert!(!status.is_lost());
    let events = sink.events();
    assert_eq!(lost(&events).len(), 1, "lost once: {events:#?}");
    let [(source, down_ms, detail)] = restored(&events)[..] else {
        panic!("{events:#?}");
    };
    assert_eq!(source, "alertmanager");
    assert!(down_ms > 0.0, "{down_ms}");
    assert_eq!(detail, format!("{url} answers again: alerts can arrive"));
    drop(watch);
    again.stop().await;
}

#[tokio::test]
async fn an_error_status_and_no_answer_in_time_are_failed_checks_too() {
    let unavailable = Server::start(any_port(), Some(StatusCode::SERVICE_UNAVAILABLE)).await;
    let silent = Server::start(any_port(), None).await;
    let source = fast(
        AlertSource::new()
            .part("prometheus", unavailable.url())
            .part("alertmanager", silent.url()),
    );
    let sink = Arc::new(MemorySink::default());
    let watch = watch(&source, &sink);
    until(&sink, "two source_lost", |events| lost(events).len() == 2).await;
    assert!(watch.status().is_lost());
    let events = sink.events();
    let mut details: Vec<(&str, &str)> = lost(&events).iter().map(|(s, d, _)| (*s, *d)).collect();
    details.sort();
    assert_eq!(
        details,
        [
            (
                "alertmanager",
                format!(
                    "{}: no answer within 200ms (2 failed checks in a row): no alert can arrive",
                    silent.url()
                )
                .as_str()
            ),
            (
                "prometheus",
                format!(
                    "{}: answered 503 Service Unavailable (2 failed checks in a row): no alert \
                     can arrive",
                    unavailable.url()
                )
                .as_str()
            ),
        ]
    );
}
