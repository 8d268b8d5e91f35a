//! Signals fed from outside the platform ([`Healer::with_external_signals`]: alerts, a
//! prober's results…), each with its target resolved when it names it only by name.
//!
//! [`Healer::with_external_signals`]: super::Healer::with_external_signals

use std::sync::Arc;

use futures_util::stream::{self, BoxStream};
use futures_util::StreamExt;
use journal::{Event, Sink};
use tokio::sync::mpsc;

use crate::platform::{Platform, Scope};
use crate::signal::{Signal, TargetRef};

/// The external signals, their targets resolved; those no target in scope has dropped.
pub(super) type External = BoxStream<'static, Signal>;

/// The signals sent on `rx`, each resolved in `scope` (a dropped one is recorded to `sink`).
pub(super) fn resolved(
    platform: Arc<dyn Platform>,
    scope: Scope,
    sink: Arc<dyn Sink>,
    rx: mpsc::Receiver<Signal>,
) -> External {
    stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|signal| (signal, rx))
    })
    .then(move |signal| {
        let platform = Arc::clone(&platform);
        let scope = scope.clone();
        let sink = Arc::clone(&sink);
        async move { resolve(platform.as_ref(), &scope, sink.as_ref(), signal).await }
    })
    .filter_map(std::future::ready)
    .boxed()
}

/// The next external signal; never, once they ended (`None`).
pub(super) async fn next(external: &mut Option<External>) -> Option<Signal> {
    match external {
        Some(signals) => signals.next().await,
        None => std::future::pending().await,
    }
}

/// Fills in the target of a signal that names it only by name; `None` (after recording why)
/// when no target in scope has that name or the platform cannot tell.
async fn resolve(
    platform: &dyn Platform,
    scope: &Scope,
    sink: &dyn Sink,
    mut signal: Signal,
) -> Option<Signal> {
    if !signal.target.id.is_empty() {
        return Some(signal);
    }
    let suppress = |reason: String| {
        tracing::info!(target_name = %signal.target.name, %reason, "signal dropped");
        sink.record(Event::Suppressed {
            target: signal.target.name.clone(),
            signal: signal.kind.to_string(),
            reason,
        });
    };
    match platform.find_target(scope, &signal.target.name).await {
        Ok(Some(target)) => {
            signal.target = TargetRef {
                labels: target.labels,
                id: target.id,
                name: target.name,
            };
            Some(signal)
        }
        Ok(None) => {
            suppress("no target in scope has this name".to_owned());
            None
        }
        Err(error) => {
            suppress(format!("cannot resolve the target: {error}"));
            None
        }
    }
}
