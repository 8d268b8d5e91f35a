//! The host's way in to a trial's service: TCP forwarders on 127.0.0.1, one per slot (what the
//! prober probes, so a slot's outage lasts until Swarm runs that slot's task again, wherever)
//! and one spreading connections over every running task (where the load goes).
//!
//! Where each slot's task listens is read from Swarm every [`REFRESH`] ([`service::endpoints`]):
//! only an address, like a DNS lookup; whether the task answers is for the probes to find out
//! through it. A slot without a running task, or whose task does not accept the connection,
//! has its client's connection closed at once, which the prober counts as a failure. The
//! spreading forwarder takes the slots in turn and skips one whose connect fails (as HAProxy's
//! `option redispatch` would), so load keeps flowing while a dead node's task is still listed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use bollard::Docker;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep, timeout, Duration};
use tokio_util::sync::CancellationToken;

use super::service;

/// How often the tasks' addresses are read from Swarm.
const REFRESH: Duration = Duration::from_millis(200);

/// How long a connection to a task may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Each slot's (from 1) task address, as last read.
type Routes = Arc<RwLock<HashMap<i64, SocketAddr>>>;

/// The forwarders of one service; stopped by [`Front::stop`] or when dropped.
pub struct Front {
    /// The port on 127.0.0.1 of each slot, slot 1 first.
    pub slots: Vec<u16>,
    /// The port on 127.0.0.1 that spreads connections over the running tasks.
    pub spread: u16,
    routes: Routes,
    cancel: CancellationToken,
}

impl Front {
    /// Listens for a slot per service of `ids` (slot 1 first), read through `dockers`.
    pub async fn start(dockers: Vec<Docker>, ids: Vec<String>) -> std::io::Result<Front> {
        let replicas = ids.len() as i64;
        let cancel = CancellationToken::new();
        let routes = Routes::default();
        let mut slots = vec![];
        for slot in 1..=replicas {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            slots.push(listener.local_addr()?.port());
            let routes = routes.clone();
            let pick = move |_turn: usize| routes_of(&routes, Some(slot));
            tokio::spawn(serve(listener, pick, cancel.clone()));
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let spread = listener.local_addr()?.port();
        let all = routes.clone();
        tokio::spawn(serve(
            listener,
            move |turn| {
                let mut found = routes_of(&all, None);
                let len = found.len().max(1);
                found.rotate_left(turn % len);
                found
            },
            cancel.clone(),
        ));
        tokio::spawn(refresh(dockers, ids, routes.clone(), cancel.clone()));
        Ok(Front {
            slots,
            spread,
            routes,
            cancel,
        })
    }

    /// Where slot `slot` (from 1) has its task, as last read.
    pub fn route(&self, slot: i64) -> Option<SocketAddr> {
        routes_of(&self.routes, Some(slot)).into_iter().next()
    }

    pub fn stop(&self) {
        self.cancel.cancel();
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The address of `slot`, or of every slot in slot order.
fn routes_of(routes: &Routes, slot: Option<i64>) -> Vec<SocketAddr> {
    let routes = routes
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match slot {
        Some(slot) => routes.get(&slot).copied().into_iter().collect(),
        None => {
            let mut all: Vec<(i64, SocketAddr)> = routes.iter().map(|(s, a)| (*s, *a)).collect();
            all.sort();
            all.into_iter().map(|(_, address)| address).collect()
        }
    }
}

async fn refresh(
    dockers: Vec<Docker>,
    ids: Vec<String>,
    routes: Routes,
    cancel: CancellationToken,
) {
    while !cancel.is_cancelled() {
        if let Some(found) = service::endpoints(&dockers, &ids).await {
            *routes
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = found;
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = sleep(REFRESH) => {}
        }
    }
}

/// Accepts connections until `cancel`, each forwarded to the first of `pick(turn)` that
/// accepts it (the `turn`-th connection of this listener).
async fn serve(
    listener: TcpListener,
    pick: impl Fn(usize) -> Vec<SocketAddr> + Send + 'static,
    cancel: CancellationToken,
) {
    for turn in 0.. {
        let accepted = tokio::select! {
            () = cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((mut client, _)) = accepted else {
            continue;
        };
        let candidates = pick(turn);
        let cancel = cancel.clone();
        tokio::spawn(async move {
            for address in candidates {
                let Ok(Ok(mut upstream)) =
                    timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await
                else {
                    continue;
                };
                tokio::select! {
                    () = cancel.cancelled() => {}
                    _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                }
                return;
            }
            // No task took it: the client's connection closes here.
        });
    }
}
