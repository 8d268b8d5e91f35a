//! What every call goes through, in this order: the bearer token, the rate limit (429) of
//! callers with the token, or for those without it their own (429, else 401), then the
//! endpoint; and whatever the answer, one `AgentCall` record in the journal. Callers without
//! the token have a bucket of their own, so a flood of them never uses up the agent's.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use journal::Event;
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::reply::{ApiError, Call};
use super::Api;

/// Calls per second the API answers, over all callers; more get 429.
const CALLS_PER_SECOND: f64 = 100.0;

/// The header naming the caller in the journal.
const CALLER_HEADER: &str = "x-sim-caller";

/// The longest caller name recorded; a longer one is recorded as the default.
const MAX_CALLER: usize = 64;

/// The caller recorded when the request names none.
const DEFAULT_CALLER: &str = "agent";

/// A fresh token: 32 bytes from the kernel's random source, as hex.
pub(super) fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `header` (an `Authorization` value) is `Bearer <token>`, compared in constant time:
/// the time taken may reveal whether the lengths differ, never how much of a guess is right.
fn authorizes(token: &str, header: Option<&HeaderValue>) -> bool {
    let Some(presented) = header.and_then(|value| value.as_bytes().strip_prefix(b"Bearer ")) else {
        return false;
    };
    bool::from(token.as_bytes().ct_eq(presented.trim_ascii()))
}

/// A token bucket over all callers: [`CALLS_PER_SECOND`] calls in a burst, refilled at that rate.
#[derive(Debug)]
pub(super) struct Bucket {
    tokens: f64,
    filled_at: Instant,
}

impl Bucket {
    pub(super) fn full() -> Bucket {
        Bucket {
            tokens: CALLS_PER_SECOND,
            filled_at: Instant::now(),
        }
    }

    /// Takes one call's token at `now`; `false` when none is left.
    fn take(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.filled_at).as_secs_f64() * CALLS_PER_SECOND;
        self.tokens = (self.tokens + refill).min(CALLS_PER_SECOND);
        self.filled_at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// The caller the journal names: the `X-Sim-Caller` header when it is there, printable and at
/// most [`MAX_CALLER`] bytes, else `agent`.
fn caller(headers: &HeaderMap) -> String {
    headers
        .get(CALLER_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|name| !name.is_empty() && name.len() <= MAX_CALLER)
        .unwrap_or(DEFAULT_CALLER)
        .to_owned()
}

/// The middleware: token, rate limit, the endpoint, the journal record.
pub(super) async fn guard(State(api): State<Arc<Api>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let caller = caller(request.headers());
    let authorized = authorizes(&api.token, request.headers().get(header::AUTHORIZATION));
    let bucket = if authorized {
        &api.bucket
    } else {
        &api.strangers
    };
    let allowed = bucket.lock().is_ok_and(|mut bucket| bucket.take(started));
    let response = if !allowed {
        let message = format!("more than {CALLS_PER_SECOND} calls per second; slow down");
        let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    } else if !authorized {
        let message =
            "missing or wrong token: send `Authorization: Bearer <the token sim gave you>`";
        let mut response = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
    } else {
        next.run(request).await
    };
    let call = response
        .extensions()
        .get::<Call>()
        .cloned()
        .unwrap_or_default();
    api.journal.record(Event::AgentCall {
        caller,
        method,
        path,
        status: response.status().as_u16(),
        target: call.target,
        action: call.action,
        duration_ms: millis(started.elapsed()),
    });
    response
}

pub(super) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let token = new_token().unwrap();
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(token, new_token().unwrap());
        let header = |text: String| Some(HeaderValue::from_str(&text).unwrap());
        assert!(authorizes(
            &token,
            header(format!("Bearer {token}")).as_ref()
        ));
        for wrong in [
            format!("Bearer {}", &token[1..]),
            format!("Bearer {token}0"),
            format!("Basic {token}"),
            token.clone(),
            "Bearer ".to_owned(),
        ] {
            assert!(
                !authorizes(&token, header(wrong.clone()).as_ref()),
                "{wrong}"
            );
        }
        assert!(!authorizes(&token, None));
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_allows_a_burst_then_its_rate() {
        let mut bucket = Bucket::full();
        let now = Instant::now();
        let burst = (0..1000).filter(|_| bucket.take(now)).count();
        assert_eq!(burst, CALLS_PER_SECOND as usize);
        let later = now + Duration::from_millis(50);
        let refilled = (0..1000).filter(|_| bucket.take(later)).count();
        assert_eq!(refilled, 5);
        let much_later = later + Duration::from_secs(60);
        let capped = (0..1000).filter(|_| bucket.take(much_later)).count();
        assert_eq!(capped, CALLS_PER_SECOND as usize);
    }

    #[test]
    fn the_caller_is_the_header_when_short_else_agent() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CALLER_HEADER, HeaderValue::from_str(value).unwrap());
            caller(&headers)
        };
        assert_eq!(with("my-agent"), "my-agent");
        assert_eq!(with(&"x".repeat(MAX_CALLER + 1)), DEFAULT_CALLER);
        assert_eq!(with("  "), DEFAULT_CALLER);
        assert_eq!(caller(&HeaderMap::new()), DEFAULT_CALLER);
    }
}
