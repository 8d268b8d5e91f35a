//! Progress on long work: a live status line on a terminal, plain phase lines otherwise (CI).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Phase lines and a live status for `sim run`.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
    live: bool,
}

impl Progress {
    /// A status line on stderr when it is a terminal and `enabled`; plain lines otherwise.
    pub fn new(enabled: bool) -> Self {
        let target = ProgressDrawTarget::stderr();
        let live = enabled && !target.is_hidden();
        let bar = if live {
            let bar = ProgressBar::with_draw_target(None, target);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress { bar, live }
    }

    /// A new phase: printed as its own line, above the status line.
    pub fn phase(&self, line: impl AsRef<str>) {
        if self.live {
            self.bar.println(line.as_ref());
        } else {
            eprintln!("{}", line.as_ref());
        }
    }

    /// Replaces the live status (terminal only).
    pub fn status(&self, status: impl Into<String>) {
        self.bar.set_message(status.into());
    }

    /// Removes the status line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
