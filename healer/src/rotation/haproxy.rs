//! [`Rotation`] over HAProxy's runtime API (`stats socket ipv4@…:PORT level admin`): one TCP
//! connection per command, as the API's non-interactive mode expects. A server is found by its
//! address in `show servers state`, drained with `set server … state drain` (no new requests;
//! health checks go on), watched with `show stat` until its current sessions are 0, and put
//! back with `set server … state ready`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{Drained, Rotation};

/// How often a drain asks whether the requests in flight have finished.
const POLL: Duration = Duration::from_millis(20);
/// One command's limit: connect, send, read the answer.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// HAProxy's runtime API at an address, for the servers of one backend.
#[derive(Debug, Clone)]
pub struct Haproxy {
    api: SocketAddr,
    backend: String,
}

impl Haproxy {
    /// The runtime API listening at `api`, balancing `backend`.
    pub fn new(api: SocketAddr, backend: impl Into<String>) -> Haproxy {
        Haproxy {
            api,
            backend: backend.into(),
        }
    }

    /// Sends one command; HAProxy's answer, whole.
    async fn command(&self, command: &str) -> Result<String, String> {
        let exchange = async {
            let mut stream = TcpStream::connect(self.api).await?;
            stream.write_all(format!("{command}\n").as_bytes()).await?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await?;
            Ok::<_, std::io::Error>(answer)
        };
        let answer = tokio::time::timeout(COMMAND_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                format!(
                    "HAProxy runtime API {}: no answer to `{command}` within {COMMAND_TIMEOUT:?}",
                    self.api
                )
            })?
            .map_err(|e| format!("HAProxy runtime API {}: {e}", self.api))?;
        Ok(answer)
    }

    /// A command that answers nothing when it worked.
    async fn set_state(&self, server: &str, state: &str) -> Result<(), String> {
        let answer = self
            .command(&format!(
                "set server {}/{server} state {state}",
                self.backend
            ))
            .await?;
        match answer.trim() {
            "" => Ok(()),
            error => Err(format!(
                "HAProxy refused `state {state}` for {server}: {error}"
            )),
        }
    }

    /// Current sessions on `servers`, summed.
    async fn in_flight(&self, servers: &[String]) -> Result<u64, String> {
        let stat = self
            .command(&format!("show stat {} 4 -1", self.backend))
            .await?;
        Ok(current_sessions(&stat, servers))
    }
}

impl Rotation for Haproxy {
    fn drain<'a>(
        &'a self,
        addresses: &'a [IpAddr],
        wait: Duration,
    ) -> BoxFuture<'a, Result<Drained, String>> {
        async move {
            let state = self
                .command(&format!("show servers state {}", self.backend))
                .await?;
            let servers = servers_at(&state, addresses);
            for server in &servers {
                self.set_state(server, "drain").await?;
            }
            let until = Instant::now() + wait;
            let mut in_flight = self.in_flight(&servers).await?;
            while in_flight > 0 && Instant::now() < until {
                tokio::time::sleep(POLL).await;
                in_flight = self.in_flight(&servers).await?;
            }
            Ok(Drained { servers, in_flight })
        }
        .boxed()
    }

    fn restore<'a>(&'a self, drained: &'a Drained) -> BoxFuture<'a, Result<(), String>> {
        async move {
            for server in &drained.servers {
                self.set_state(server, "ready").await?;
            }
            Ok(())
        }
        .boxed()
    }
}

/// The names of the servers at one of `addresses` in a `show servers state` answer (a version
/// line, a `#` header naming the columns, then one line per server).
fn servers_at(state: &str, addresses: &[IpAddr]) -> Vec<String> {
    let mut lines = state.lines().filter(|line| !line.trim().is_empty());
    let Some(header) = lines.find(|line| line.starts_with('#')) else {
        return Vec::new();
    };
    let columns: Vec<&str> = header.trim_start_matches('#').split_whitespace().collect();
    let column = |name: &str| columns.iter().position(|c| *c == name);
    let (Some(name), Some(addr)) = (column("srv_name"), column("srv_addr")) else {
        return Vec::new();
    };
    lines
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let ip: IpAddr = fields.get(addr)?.parse().ok()?;
            addresses
                .contains(&ip)
                .then(|| fields.get(name).map(|n| (*n).to_owned()))
                .flatten()
        })
        .collect()
}

/// The `scur` (current sessions) of `servers` in a `show stat` CSV answer, summed.
fn current_sessions(stat: &str, servers: &[String]) -> u64 {
    let mut lines = stat.lines();
    let Some(header) = lines.next() else {
        return 0;
    };
    let columns: Vec<&str> = header.trim_start_matches("# ").split(',').collect();
    let column = |name: &str| columns.iter().position(|c| *c == name);
    let (Some(name), Some(scur)) = (column("svname"), column("scur")) else {
        return 0;
    };
    lines
        .map(|line| line.split(',').collect::<Vec<&str>>())
        .filter(|fields| {
            fields
                .get(name)
                .is_some_and(|n| servers.iter().any(|s| s == n))
        })
        .filter_map(|fields| fields.get(scur)?.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests;
