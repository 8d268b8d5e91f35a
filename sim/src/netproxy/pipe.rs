//! The proxy's data path: accept, then reset, blackhole, or connect upstream and pipe both
//! ways, delaying each chunk by the latency toxic.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{State, Verdict};

/// The most bytes read at once, i.e. the largest chunk a delay applies to.
const CHUNK: usize = 16 * 1024;
/// Chunks read but not yet forwarded, per direction: reading goes on during a delay (so chunks
/// are delayed from when they arrived, not one after another), up to this many.
const IN_FLIGHT: usize = 64;

/// Accepts connections on `listener` for as long as it works, each proxied in a task of its own.
pub(super) async fn accept_loop(
    listener: TcpListener,
    upstream: String,
    state: Arc<State>,
) -> io::Result<()> {
    let upstream: Arc<str> = upstream.into();
    loop {
        let (mut client, peer) = listener.accept().await?;
        match state.admit() {
            Verdict::Proxy => {}
            Verdict::Reset => {
                // A zero linger makes the close a TCP reset rather than an orderly FIN.
                if let Err(e) = client.set_zero_linger() {
                    tracing::debug!(%peer, "cannot set a zero linger: {e}");
                }
                drop(client);
                continue;
            }
            Verdict::Blackhole => {
                // Everything the client sends is swallowed, nothing comes back, until it gives
                // up and closes.
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client, &mut tokio::io::sink()).await;
                });
                continue;
            }
        }
        let upstream = upstream.clone();
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = proxy(client, &upstream, &state).await {
                tracing::debug!(%peer, %upstream, "connection ended: {e}");
            }
        });
    }
}

/// Pipes `client` to a new connection to `upstream` both ways until both directions end. An
/// error in either direction ends both (the sockets close when this returns).
async fn proxy(client: TcpStream, upstream: &str, state: &State) -> io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::try_join!(
        forward(client_read, server_write, state),
        forward(server_read, client_write, state),
    )?;
    Ok(())
}

/// Forwards what `from` reads to `to`, each chunk held until its delay (taken when it was read)
/// has passed, in order; at the end of `from`, shuts `to` down for writing (a half close).
async fn forward(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, state: &State) -> io::Result<()> {
    let (chunks, mut due) = mpsc::channel::<(Instant, Bytes)>(IN_FLIGHT);
    let read = async move {
        let mut buffer = vec![0; CHUNK];
        loop {
            let n = from.read(&mut buffer).await?;
            if n == 0 {
                return Ok::<_, io::Error>(());
            }
            let at = Instant::now() + state.delay();
            if chunks
                .send((at, Bytes::copy_from_slice(&buffer[..n])))
                .await
                .is_err()
            {
                return Ok(());
            }
        }
    };
    let write = async move {
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            to.write_all(&chunk).await?;
        }
        to.shutdown().await
    };
    tokio::try_join!(read, write)?;
    Ok(())
}
