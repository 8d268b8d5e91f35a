//! The `healer` command line: parses arguments into a [`Config`], runs the daemon, and turns
//! every outcome into one clear message and a documented exit code (see [`exit`]).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use super::{
    exit, Config, ServeError, ServerLimits, Token, WebhookOptions, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_QUEUE,
};
use crate::advisor::{Advisor, DEFAULT_MIN_CONFIDENCE};
use crate::platform::Scope;
use crate::rotation::Haproxy;

const EXIT_CODES: &str = "\
Exit codes:
  0  stopped cleanly (Ctrl-C / SIGTERM)
  2  bad input: runbooks with problems, bad flags (an advisor URL that is not http),
     a non-loopback address without
     --allow-remote, --allow-remote without a token
  3  environment: no Docker engine answers, or the listen address cannot be bound
  4  the engine or the HTTP server failed while running";

/// The label a container needs for the healer to touch it when no --scope is given.
pub const DEFAULT_SCOPE: (&str, &str) = ("healer.enabled", "true");

/// healer: runbooks-as-code self-healing for containers on a Docker host.
#[derive(Debug, Parser)]
#[command(
    name = "healer",
    version,
    after_help = format!("Examples:\n  healer serve --runbooks healer/runbooks\n  healer serve --runbooks ./runbooks --scope sim.managed=true --audit audit.jsonl\n\n{EXIT_CODES}")
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More logs on stderr (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Watch a Docker host and heal its containers by runbook; serve the Alertmanager webhook
    /// (POST /alerts), /healthz and /metrics.
    #[command(after_help = format!("\
Examples:
  healer serve --runbooks healer/runbooks
  healer serve --runbooks ./runbooks --scope app=shop --scope env=prod --audit /var/log/healer.jsonl
  healer serve --runbooks ./runbooks --dry-run          # decide and record, change nothing
  healer serve --runbooks ./runbooks --advisor-url http://127.0.0.1:11434 --advisor-model qwen2.5:0.5b
  HEALER_TOKEN=s3cret healer serve --runbooks ./runbooks --token-env HEALER_TOKEN
  healer serve --runbooks ./runbooks --listen 0.0.0.0:9095 --allow-remote --token-file /etc/healer/token

Alertmanager receiver:
  receivers:
    - name: healer
      webhook_configs:
        - url: http://127.0.0.1:9095/alerts
          http_config:
            authorization: {{ credentials: s3cret }}   # when a token is set

An alert names its container by its `container` label, else `name`, else `instance` (host part).

{EXIT_CODES}"))]
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Directory of runbook files (*.yaml, *.yml); every problem in every file is reported.
    #[arg(long, value_name = "DIR")]
    runbooks: PathBuf,
    /// Only containers carrying this label are touched; repeat to require several.
    /// Default: healer.enabled=true.
    #[arg(long = "scope", value_name = "LABEL=VALUE", value_parser = parse_label)]
    scope: Vec<(String, String)>,
    /// Address of the HTTP server (webhook, /healthz, /metrics).
    #[arg(long, default_value = "127.0.0.1:9095", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Allow a non-loopback --listen address; requires --token-file or --token-env.
    #[arg(long)]
    allow_remote: bool,
    /// Require this bearer token (first line of FILE) on the webhook.
    #[arg(long, value_name = "FILE", conflicts_with = "token_env")]
    token_file: Option<PathBuf>,
    /// Require the bearer token held in environment variable VAR on the webhook.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// Largest webhook body accepted (larger: 413).
    #[arg(long, default_value = "256KiB", value_name = "SIZE", value_parser = parse_max_body)]
    max_body: usize,
    /// Most HTTP connections open at once; one more is answered 503 and closed at once. Keep it
    /// below the open-file limit (`ulimit -n`).
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// Time a client has to send a request's headers, on a new connection and between
    /// keep-alive requests; then the connection is closed (idle and slow clients).
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_timeout)]
    header_timeout: Duration,
    /// Time a request has to be received and answered; later it gets 408.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = parse_timeout)]
    request_timeout: Duration,
    /// A health probe (the healer's own, for `probe_failures` and `probe_latency_ms` triggers)
    /// without a 2xx answer within this time failed. Raise it for targets that are slow under
    /// load (CPU-limited, busy), so that slow is not taken for hung.
    #[arg(long, default_value = "250ms", value_name = "DURATION", value_parser = parse_timeout)]
    probe_timeout: Duration,
    /// Write every decision and action to this JSONL audit file (default: the log).
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// Detect and decide, but change nothing and notify no one: every step is recorded as skipped.
    #[arg(long)]
    dry_run: bool,
    /// HAProxy's runtime API (`stats socket ipv4@ADDR:PORT level admin`): `drain` steps take
    /// a target out of its rotation before acting, and put it back after verification.
    #[arg(long, value_name = "ADDR:PORT")]
    haproxy_api: Option<SocketAddr>,
    /// The HAProxy backend whose servers the targets are.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "replicas",
        requires = "haproxy_api"
    )]
    haproxy_backend: String,
    /// An OpenAI-compatible model server (Ollama http://127.0.0.1:11434, llama.cpp's server,
    /// vLLM…) consulted when no runbook matches or a match is unsure; the healer acts only on a
    /// runbook of its library that it names. The incident's evidence is sent there, with the
    /// target's last log lines (secrets redacted). Off by default.
    #[arg(long, value_name = "URL", requires = "advisor_model")]
    advisor_url: Option<String>,
    /// The model the advisor server is asked for.
    #[arg(long, value_name = "NAME", requires = "advisor_url")]
    advisor_model: Option<String>,
    /// An advisor answer later than this counts as none (the healer escalates).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = specfile::parse_duration)]
    advisor_timeout: std::time::Duration,
    /// The advisor's confidence (0..1) the healer needs to act on its answer.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MIN_CONFIDENCE)]
    advisor_min_confidence: f64,
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "expected LABEL=VALUE (e.g. sim.managed=true), got {text:?}"
        )),
    }
}

fn parse_max_body(text: &str) -> Result<usize, String> {
    let bytes = specfile::parse_size(text)?;
    match usize::try_from(bytes) {
        Ok(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(format!(
            "--max-body must be between 1B and 4GiB, got {text:?}"
        )),
    }
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    match specfile::parse_duration(text)? {
        Duration::ZERO => Err(format!("a timeout must be longer than 0s, got {text:?}")),
        timeout => Ok(timeout),
    }
}

impl ServeArgs {
    fn into_config(self) -> Result<Config, ServeError> {
        let token = match (&self.token_file, &self.token_env) {
            (Some(path), _) => Some(Token::from_file(path)?),
            (None, Some(var)) => Some(Token::from_env(var)?),
            (None, None) => None,
        };
        let labels: BTreeMap<String, String> = if self.scope.is_empty() {
            BTreeMap::from([(DEFAULT_SCOPE.0.to_owned(), DEFAULT_SCOPE.1.to_owned())])
        } else {
            self.scope.into_iter().collect()
        };
        let advisor = match (&self.advisor_url, &self.advisor_model) {
            (Some(url), Some(model)) => Some(
                Advisor::new(url, model)
                    .and_then(|a| a.timeout(self.advisor_timeout))
                    .and_then(|a| a.min_confidence(self.advisor_min_confidence))
                    .map_err(ServeError::Advisor)?,
            ),
            _ => None,
        };
        Ok(Config {
            advisor,
            runbooks: self.runbooks,
            scope: Scope { labels },
            listen: self.listen,
            allow_remote: self.allow_remote,
            webhook: WebhookOptions {
                token,
                max_body: self.max_body,
                queue: DEFAULT_QUEUE,
            },
            server: ServerLimits {
                max_connections: self.max_connections,
                header_timeout: self.header_timeout,
                request_timeout: self.request_timeout,
            },
            probe_timeout: self.probe_timeout,
            audit: self.audit,
            dry_run: self.dry_run,
            haproxy: self
                .haproxy_api
                .map(|api| Haproxy::new(api, self.haproxy_backend)),
        })
    }
}

/// Parses the process's arguments, runs the command, and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            };
        }
    };
    init_logging(cli.verbose);
    let Command::Serve(args) = cli.command;
    let config = match args.into_config().and_then(|config| {
        config.check()?;
        Ok(config)
    }) {
        Ok(config) => config,
        Err(e) => return report(&e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::FAILED;
        }
    };
    match runtime.block_on(super::run(config)) {
        Ok(()) => exit::OK,
        Err(e) => report(&e),
    }
}

fn report(error: &ServeError) -> i32 {
    eprintln!("error: {error}");
    error.exit_code()
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let argv = ["healer", "serve", "--runbooks", "runbooks"];
        let Command::Serve(args) = Cli::try_parse_from(argv.iter().chain(args))?.command;
        Ok(args)
    }

    #[test]
    fn the_server_limits_default_to_the_documented_values() {
        let config = serve_args(&[]).unwrap().into_config().unwrap();
        assert_eq!(config.server, ServerLimits::default());
    }

    #[test]
    fn server_limits_are_flags_and_zero_is_refused() {
        let args = serve_args(&[
            "--max-connections",
            "64",
            "--header-timeout",
            "2s",
            "--request-timeout",
            "500ms",
            "--probe-timeout",
            "1s",
        ]);
        let config = args.unwrap().into_config().unwrap();
        assert_eq!(
            config.server,
            ServerLimits {
                max_connections: 64,
                header_timeout: Duration::from_secs(2),
                request_timeout: Duration::from_millis(500),
            }
        );
        assert_eq!(config.probe_timeout, Duration::from_secs(1));
        for bad in [
            ["--max-connections", "0"],
            ["--probe-timeout", "0ms"],
            ["--header-timeout", "0s"],
            ["--request-timeout", "0"],
        ] {
            assert!(serve_args(&bad).is_err(), "{bad:?} was accepted");
        }
    }
}
