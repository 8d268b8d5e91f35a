//! `--strategy external` end to end against the real Docker engine, through the `sim` binary:
//! the example agents, knowing only the Agent API, heal the OOM-killed target of every trial:
//! `restart_on_down.py` polling the API, `restart_on_alert.py` from the alerts sim posts to its
//! webhook, under `sim compare` beside the embedded healer. Every call and action is in the
//! journal, each heal verified, and neither the agents nor any container outlive the run.

mod common;

use common::{assert_nothing_left, compare_dir, journal, result, run, run_dir, sim, text};

const AGENT: &str = "python3 examples/agents/restart_on_down.py";

#[tokio::test]
async fn the_example_agent_heals_every_oom_kill_and_is_stopped_with_the_run() {
    let out = tempfile::tempdir().unwrap();
    let pid_file = out.path().join("agent.pids");
    let output = run(sim()
        .args([
            "run",
            "oom-recovery",
            "--trials",
            "2",
            "--strategy",
            "external",
        ])
        .args(["--external-cmd", AGENT, "--out"])
        .arg(out.path())
        .env("SIM_AGENT_PID_FILE", &pid_file)
        // The agent's output, logged at info level.
        .env("RUST_LOG", "warn,sim::strategy::external=info"));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    let dir = run_dir(out.path(), "oom-recovery").expect("a run directory");
    let result = result(&dir);

    // sim verifies each start the agent asked for as a runbook's would be: every expectation
    // of the scenario, `healed: true` (a verified heal in every trial) among them, passes.
    let failed: Vec<&str> = result["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["passed"] != true)
        .map(|v| v["expectation"].as_str().unwrap())
        .collect();
    assert!(
        failed.is_empty(),
        "failed: {failed:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    // The report scores the agent: its detect and mitigate times, its calls and errors.
    assert!(stdout.contains("Agent API     calls "), "{stdout}");
    assert!(stdout.contains("false positives 0"), "{stdout}");
    assert!(
        stderr.contains("agent: trial 1: watching http://127.0.0.1:"),
        "{stderr}"
    );

    let records = journal(&dir);
    assert_eq!(records[0]["strategy"], "external");
    assert_eq!(
        records[0]["setup"]["strategy_settings"]["command"], AGENT,
        "{}",
        records[0]
    );
    let trials = result["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 2);
    for trial in trials {
        assert_eq!(trial["outage"], true, "{trial}");
        let mttr = trial["mttr_ms"].as_f64().expect("recovered");
        assert!(mttr > 0.0, "{trial}");
        assert!(trial["heals"].as_u64().unwrap() >= 1, "{trial}");
        assert_eq!(trial["false_positives"], 0, "{trial}");
        assert_eq!(trial["refused_calls"], 0, "{trial}");
        assert!(trial["agent_calls"].as_u64().unwrap() >= 2, "{trial}");
        // Time to detect (outage start → the agent's first action) and to mitigate (MTTR).
        let ttd = trial["ttd_ms"].as_f64().expect("a time to detect");
        assert!((0.0..mttr).contains(&ttd), "{trial}");
        eprintln!(
            "trial {}: TTD {ttd:.0} ms, MTTR {mttr:.0} ms",
            trial["trial"]
        );

        // The agent started the killed target through the API (or restarted it: a leaking
        // target can thrash near its limit, failing its probes while it still runs, before the
        // kernel kills it), and the action worked.
        let target = trial["outage_target"].as_str().unwrap();
        let own = |event: &'static str| {
            records
                .iter()
                .filter(move |r| r["trial"] == trial["trial"] && r["event"] == event)
        };
        assert!(
            own("docker").any(|r| r["action"] == "die" && r["target"] == target),
            "{trial}"
        );
        assert!(
            own("agent_call").any(|r| r["method"] == "POST"
                && (r["action"] == "start" || r["action"] == "restart")
                && r["target"] == target
                && r["status"] == 200),
            "trial {}: no successful start or restart through the API",
            trial["trial"]
        );
        assert!(
            own("action_finished").any(|r| r["runbook"] == "external"
                && (r["action"] == "start" || r["action"] == "restart")
                && r["target"] == target
                && r["ok"] == true),
            "trial {}: no successful agent action",
            trial["trial"]
        );
        assert!(
            own("verified")
                .any(|r| r["runbook"] == "external" && r["target"] == target && r["ok"] == true),
            "trial {}: the agent's action was not verified",
            trial["trial"]
        );
    }

    // One agent per trial, each gone with its trial.
    let pids: Vec<u32> = std::fs::read_to_string(&pid_file)
        .expect("the agent wrote its pid")
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "{pids:?}");
    for pid in pids {
        assert!(!running(pid), "agent {pid} outlived the run");
    }
    assert_nothing_left(&dir).await;
}

/// A port on 127.0.0.1 that was free a moment ago, for the webhook agent to listen on.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_webhook_agent_heals_from_the_alerts_sim_relays_side_by_side_with_the_embedded_healer()
{
    let out = tempfile::tempdir().unwrap();
    let port = free_port();
    let agent = format!("python3 examples/agents/restart_on_alert.py --port {port}");
    let webhook = format!("http://127.0.0.1:{port}/alerts");
    let output = run(sim()
        .args([
            "compare",
            "oom-recovery",
            "--strategies",
            "embedded,external",
        ])
        .args(["--trials", "1", "--external-cmd", &agent])
        .args(["--external-webhook", &webhook])
        // Prometheus → Alertmanager as fast as they go: the alert is the agent's only signal.
        .args(["--alertmanager-scrape", "1s", "--alertmanager-for", "0s"])
        .args(["--alertmanager-group-wait", "0s", "--out"])
        .arg(out.path())
        .env("RUST_LOG", "warn,sim::strategy::external=info"));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("agent: trial 1: listening on"), "{stderr}");

    let dir = compare_dir(out.path(), "oom-recovery");
    let run = run_dir(&dir.join("external"), "oom-recovery").expect("the external run");
    let records = journal(&run);
    assert_eq!(
        records[0]["setup"]["strategy_settings"]["webhook"],
        webhook.as_str()
    );
    let first = |event: &str, wanted: &dyn Fn(&serde_json::Value) -> bool| {
        records
            .iter()
            .find(|r| r["event"] == event && wanted(r))
            .and_then(|r| r["t_ms"].as_f64())
            .unwrap_or_else(|| panic!("no {event} in the external run"))
    };
    // The alert came first, then the agent's restart through the API, named as its caller,
    // then sim's verification of it.
    let alert = first("alert", &|r| r["firing"] == true);
    let call = first("agent_call", &|r| {
        r["caller"] == "restart_on_alert" && r["action"] == "restart" && r["status"] == 200
    });
    let verified = first("verified", &|r| {
        r["runbook"] == "external" && r["ok"] == true
    });
    assert!(alert < call && call < verified, "{alert} {call} {verified}");

    let result = result(&run);
    let trial = &result["trials"][0];
    assert!(trial["mttr_ms"].as_f64().is_some(), "{trial}");
    assert_eq!(trial["false_positives"], 0, "{trial}");
    // The comparison shows both, with the external healer's false positives and API use.
    let last_two = |name: &str| {
        let line = stdout.lines().find(|l| l.starts_with(name));
        let line = line.unwrap_or_else(|| panic!("no {name} line in\n{stdout}"));
        let cells: Vec<&str> = line.split_whitespace().collect();
        cells[cells.len() - 2..].join(" ")
    };
    assert_eq!(last_two("embedded "), "0 -", "{stdout}");
    assert_eq!(last_two("external "), "0 0/0", "{stdout}");
    assert_nothing_left(&run).await;
}

#[test]
fn external_without_a_command_is_a_usage_error() {
    for args in [
        &["run", "oom-recovery", "--strategy", "external"][..],
        &[
            "compare",
            "oom-recovery",
            "--strategies",
            "embedded,external",
        ][..],
    ] {
        let output = run(sim().args(args));
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            text(&output.stderr).contains("--external-cmd"),
            "{}",
            text(&output.stderr)
        );
    }
    // A webhook off this machine is refused before anything runs.
    let output = run(sim()
        .args(["run", "oom-recovery", "--strategy", "external"])
        .args(["--external-webhook", "http://10.1.2.3:9095/alerts"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("not on this machine's loopback"),
        "{}",
        text(&output.stderr)
    );
}

/// Whether process `pid` exists and is not a zombie.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // `pid (comm) state …`: the state follows the last `)`.
        stat.rsplit(')')
            .next()
            .map(str::trim_start)
            .is_some_and(|rest| !rest.starts_with('Z'))
    })
}
