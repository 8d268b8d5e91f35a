//! The prober's cadence in paused time, against scripted targets: what each probe meets
//! depends on when it is sent.

use std::sync::{Arc, Mutex};

use super::*;

/// What a probe sent at some time meets.
#[derive(Clone, Copy)]
enum Meets {
    /// A 2xx answer after this long.
    Answer(Duration),
    /// An error answer (a 503, a refused connection) after this long.
    Error(Duration),
    /// No answer at all: the probe times out.
    Silence,
}

/// When each probe was sent, since the start.
type Sends = Arc<Mutex<Vec<Duration>>>;

const TIMEOUT: Duration = Duration::from_millis(250);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A prober with the default settings, the slow threshold `slow`, and a target behaving as
/// `script` says for a probe sent `t` after the start; also the start notifier and the send
/// times.
fn scripted(
    slow: Duration,
    script: impl Fn(Duration) -> Meets + Send + 'static,
) -> (Prober<impl FnMut() -> Probe>, Arc<Notify>, Sends) {
    let start = Instant::now();
    let sends = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&sends);
    let send = move || -> Probe {
        let at = start.elapsed();
        log.lock().unwrap().push(at);
        match script(at) {
            Meets::Answer(after) => Box::pin(async move {
                tokio::time::sleep(after).await;
                Ok(())
            }),
            Meets::Error(after) => Box::pin(async move {
                tokio::time::sleep(after).await;
                Err("HTTP 503".to_owned())
            }),
            Meets::Silence => Box::pin(std::future::pending()),
        }
    };
    let starts = Arc::new(Notify::new());
    let cadence = Cadence::new(&SourceSettings::default(), slow);
    let prober = Prober::new(cadence, TIMEOUT, Arc::clone(&starts), send);
    (prober, starts, sends)
}

/// The answers handed out until `until` after now, with when each was.
async fn answers(
    prober: &mut Prober<impl FnMut() -> Probe>,
    until: Duration,
) -> Vec<(Duration, Answer)> {
    let start = Instant::now();
    let mut got = Vec::new();
    while let Ok(answer) = tokio::time::timeout_at(start + until, prober.next()).await {
        got.push((start.elapsed(), answer));
    }
    got
}

fn failures(got: &[(Duration, Answer)]) -> Vec<Duration> {
    got.iter()
        .filter(|(_, answer)| !answer.ok)
        .map(|(at, _)| *at)
        .collect()
}

fn sent(sends: &Mutex<Vec<Duration>>) -> Vec<Duration> {
    sends.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn a_healthy_target_is_probed_at_the_idle_cadence() {
    let (mut prober, _, sends) = scripted(ms(200), |_| Meets::Answer(ms(10)));
    let got = answers(&mut prober, ms(700)).await;
    assert_eq!(sent(&sends), [ms(0), ms(200), ms(400), ms(600)]);
    assert!(got.iter().all(|(_, answer)| answer.ok), "{got:?}");
    assert_eq!(
        got[1],
        (
            ms(210),
            Answer {
                ok: true,
                latency: ms(10),
                error: None
            }
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_speeds_probing_up_so_three_failures_take_a_hundred_ms() {
    let (mut prober, _, sends) = scripted(ms(200), |at| {
        if at >= ms(400) {
            Meets::Error(ms(5))
        } else {
            Meets::Answer(ms(5))
        }
    });
    let got = answers(&mut prober, ms(520)).await;
    assert_eq!(failures(&got), [ms(405), ms(455), ms(505)]);
    assert_eq!(got.last().unwrap().1.error.as_deref(), Some("HTTP 503"));
    assert_eq!(sent(&sends), [ms(0), ms(200), ms(400), ms(450), ms(500)]);
}

#[tokio::test(start_paused = true)]
async fn a_probe_still_in_flight_when_the_next_is_due_at_the_fast_cadence_speeds_probing_up() {
    // Hung from 300 ms: the probe at 400 ms is suspected at 450 ms and times out at 650 ms;
    // the two sent after it fail 50 ms apart, so the third failure is 350 ms after its send.
    let (mut prober, _, sends) = scripted(ms(200), |at| {
        if at >= ms(300) {
            Meets::Silence
        } else {
            Meets::Answer(ms(5))
        }
    });
    let got = answers(&mut prober, ms(780)).await;
    assert_eq!(failures(&got), [ms(650), ms(700), ms(750)]);
    assert_eq!(
        sent(&sends)[..6],
        [ms(0), ms(200), ms(400), ms(450), ms(500), ms(550)]
    );
    assert!(got.iter().skip(2).all(|(_, a)| a.latency == TIMEOUT));
}

#[tokio::test(start_paused = true)]
async fn answers_are_handed_out_in_send_order() {
    // The first probe meets silence; the second, sent once the first is overdue, answers at
    // once but waits for the first to time out.
    let (mut prober, _, sends) = scripted(ms(200), |at| {
        if at.is_zero() {
            Meets::Silence
        } else {
            Meets::Answer(ms(1))
        }
    });
    let got = answers(&mut prober, ms(270)).await;
    assert_eq!(sent(&sends)[..2], [ms(0), ms(50)]);
    let order: Vec<(Duration, bool)> = got.iter().map(|(at, a)| (*at, a.ok)).collect();
    assert_eq!(order[..2], [(ms(250), false), (ms(250), true)]);
}

#[tokio::test(start_paused = true)]
async fn ten_good_fast_answers_in_a_row_make_probing_idle_again() {
    let (mut prober, _, sends) = scripted(ms(200), |at| {
        if (ms(200)..ms(300)).contains(&at) {
            Meets::Error(ms(1))
        } else {
            Meets::Answer(ms(1))
        }
    });
    answers(&mut prober, ms(1300)).await;
    // Failures at 200, 250 ms; ten good answers 300..=750 ms; then 200 ms apart again.
    let expected: Vec<Duration> = [0]
        .into_iter()
        .chain((200..=750).step_by(50))
        .chain([950, 1150])
        .map(ms)
        .collect();
    assert_eq!(sent(&sends), expected);
}

#[tokio::test(start_paused = true)]
async fn slow_answers_speed_probing_up_and_fast_ones_do_not() {
    let (mut prober, _, sends) = scripted(ms(200), |_| Meets::Answer(ms(30)));
    answers(&mut prober, ms(500)).await;
    assert_eq!(sent(&sends), [ms(0), ms(200), ms(400)]);

    let (mut prober, _, sends) = scripted(ms(100), |_| Meets::Answer(ms(150)));
    let got = answers(&mut prober, ms(400)).await;
    assert!(
        got.iter().all(|(_, answer)| answer.ok),
        "slow is not failed"
    );
    // In flight past 50 ms: from then on every 50 ms, several in flight at once.
    assert_eq!(sent(&sends)[..4], [ms(0), ms(50), ms(100), ms(150)]);
}

#[tokio::test(start_paused = true)]
async fn a_start_keeps_probing_suspicious_for_five_seconds() {
    let (mut prober, starts, sends) = scripted(ms(200), |_| Meets::Answer(ms(1)));
    starts.notify_one();
    answers(&mut prober, ms(5500)).await;
    let expected: Vec<Duration> = (0..=5000).step_by(50).chain([5200, 5400]).map(ms).collect();
    assert_eq!(sent(&sends), expected);

    // A later start (a restart of the same container) does it again.
    starts.notify_one();
    answers(&mut prober, ms(170)).await;
    let last: Vec<Duration> = sent(&sends).into_iter().skip(expected.len()).collect();
    assert_eq!(last, [ms(5500), ms(5550), ms(5600), ms(5650)]);
}
