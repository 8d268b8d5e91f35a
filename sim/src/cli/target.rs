//! The hidden `sim target …` commands, which run inside the containers a run starts: the
//! built-in target service (`leaky`), the HEALTHCHECK probe of `--strategy autoheal` (`probe`),
//! and the network-fault proxy (`netproxy`).

use super::async_runtime;
use crate::exit;

/// The settings of `sim target netproxy`.
#[derive(Debug, clap::Args)]
pub(super) struct NetproxyArgs {
    /// The port to accept connections on.
    #[arg(long)]
    listen: Option<u16>,
    /// Where to forward them, `host:port`.
    #[arg(long)]
    upstream: Option<String>,
    /// The port of the control API.
    #[arg(long)]
    control: Option<u16>,
}

/// Runs a built-in target in the foreground (inside its container), or probes one.
pub(super) fn run_target(name: &str, url: Option<&str>) -> i32 {
    if name == "probe" {
        let Some(url) = url else {
            eprintln!("error: `sim target probe` needs a URL");
            return exit::BAD_INPUT;
        };
        // Docker's HEALTHCHECK reads the exit code: 0 healthy, 1 unhealthy.
        return match crate::healthcheck::probe(url, crate::healthcheck::PROBE_TIMEOUT) {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("unhealthy: {url}: {e}");
                1
            }
        };
    }
    if name != "leaky" {
        eprintln!(
            "error: unknown target {name:?}; the built-in targets are `leaky`, `probe` and `netproxy`"
        );
        return exit::BAD_INPUT;
    }
    let config = match leaky::Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::BAD_INPUT;
        }
    };
    let Some(runtime) = async_runtime() else {
        return exit::ENVIRONMENT;
    };
    runtime.block_on(async {
        let address = std::net::SocketAddr::from(([0, 0, 0, 0], config.port));
        match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => match leaky::serve(config, listener).await {
                Ok(()) => exit::OK,
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::RUN_FAILED
                }
            },
            Err(e) => {
                eprintln!("error: cannot listen on {address}: {e}");
                exit::ENVIRONMENT
            }
        }
    })
}

/// Runs the network-fault proxy in the foreground (inside its container).
pub(super) fn run_netproxy(args: &NetproxyArgs) -> i32 {
    let (Some(listen), Some(upstream), Some(control)) =
        (args.listen, args.upstream.clone(), args.control)
    else {
        eprintln!(
            "error: `sim target netproxy` needs --listen <port> --upstream <host:port> --control <port>"
        );
        return exit::BAD_INPUT;
    };
    let Some(runtime) = async_runtime() else {
        return exit::ENVIRONMENT;
    };
    runtime.block_on(async {
        let bind = |port: u16| {
            tokio::net::TcpListener::bind(std::net::SocketAddr::from(([0, 0, 0, 0], port)))
        };
        let listeners = match (bind(listen).await, bind(control).await) {
            (Ok(listen), Ok(control)) => (listen, control),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("error: cannot listen on port {listen} or {control}: {e}");
                return exit::ENVIRONMENT;
            }
        };
        match crate::netproxy::serve(listeners.0, upstream, listeners.1).await {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("error: {e}");
                exit::RUN_FAILED
            }
        }
    })
}
