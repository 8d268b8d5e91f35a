//! `--strategy external` end to end against the real Docker engine, through the `sim` binary:
//! the example agent `examples/agents/restart_on_down.py`, knowing only the Agent API, heals the
//! OOM-killed target of every trial, every call and action is in the journal, and neither the
//! agent nor any container outlives the run.

mod common;

use common::{assert_nothing_left, journal, result, run, run_dir, sim, text};

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

    // The agent's actions are not verified by the healer, so `healed: true` (verified heals)
    // fails; no flag overrides an expectation, so the run exits 1 for that alone.
    let failed: Vec<&str> = result["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["passed"] != true)
        .map(|v| v["expectation"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        ["healed true"],
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
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
        assert_eq!(trial["heals"], 0, "{trial}");
        assert!(trial["unverified"].as_u64().unwrap() >= 1, "{trial}");
        eprintln!("trial {}: MTTR {mttr:.0} ms", trial["trial"]);

        // The agent started the killed target through the API, and the start worked.
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
                && r["action"] == "start"
                && r["target"] == target
                && r["status"] == 200),
            "trial {}: no successful start through the API",
            trial["trial"]
        );
        assert!(
            own("action_finished").any(|r| r["runbook"] == "external"
                && r["action"] == "start"
                && r["target"] == target
                && r["ok"] == true),
            "trial {}: no successful agent action",
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
