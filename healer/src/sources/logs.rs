//! Log following: the target's lines through [`Platform::logs`](crate::Platform::logs), each
//! cut to [`LINE_CAP`](crate::excerpt::LINE_CAP) and sent as a `Log` signal, in the order
//! written. A platform that cannot follow logs ends the task after one warning.

use futures_util::StreamExt;

use super::Context;
use crate::excerpt::cap_line;
use crate::signal::SignalKind;

/// Sends every line the platform gives for the target until its stream ends (the target was
/// removed), it fails, or the healer is gone.
pub(super) async fn follow(cx: Context) {
    let mut lines = cx.platform.logs(&cx.target);
    while let Some(line) = lines.next().await {
        match line {
            Ok(line) => {
                if !cx
                    .send(SignalKind::Log {
                        line: cap_line(&line),
                    })
                    .await
                {
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(target_name = %cx.target.name, %error, "cannot follow the logs");
                return;
            }
        }
    }
    tracing::debug!(target_name = %cx.target.name, "log stream ended");
}
