//! Ctrl-C and SIGTERM: one process-wide handler, installed before anything else can install one.
//!
//! goose installs a Ctrl-C handler of its own on every attack (and exits the process on the
//! second signal, skipping cleanup). Installing ours first makes goose's attempt fail harmlessly,
//! so sim decides: the first signal cancels the run (which stops the load and cleans up), the
//! second exits at once and leaves the leftovers to `sim gc`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use tokio_util::sync::CancellationToken;

static TOKEN: OnceLock<CancellationToken> = OnceLock::new();
static SIGNALS: AtomicU32 = AtomicU32::new(0);

/// Installs the handler (once) and returns the token it cancels.
pub fn install() -> CancellationToken {
    TOKEN
        .get_or_init(|| {
            let token = CancellationToken::new();
            let handler_token = token.clone();
            let installed = ctrlc::set_handler(move || {
                if SIGNALS.fetch_add(1, Ordering::SeqCst) == 0 {
                    eprintln!(
                        "\ninterrupted: stopping and cleaning up \
                         (press Ctrl-C again to quit at once; `sim gc` removes leftovers)"
                    );
                    handler_token.cancel();
                    goose::trigger_killswitch("sim was interrupted");
                } else {
                    eprintln!("\ninterrupted again: quitting without cleanup; run `sim gc`");
                    std::process::exit(crate::exit::INTERRUPTED);
                }
            });
            if let Err(e) = installed {
                tracing::warn!("cannot install the Ctrl-C handler: {e}");
            }
            token
        })
        .clone()
}
