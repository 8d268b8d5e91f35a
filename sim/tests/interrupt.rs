//! Ctrl-C in the middle of a run, while a fault is in force: sim exits promptly with 130,
//! removes what it created (replicas, the balancer, network proxies, a stopped dependency, a
//! compose project with its volumes), and the journal holds every event up to the interrupt.

mod common;

use std::time::Duration;

use tokio::time::Instant;

use common::{journal, leftover_images, leftover_volumes, leftovers, run_dir, run_id, sim};

#[tokio::test]
async fn sigint_mid_run_cleans_up_and_keeps_the_journal() {
    interrupted_mid_fault("oom-recovery").await;
}

/// The proxies between the balancer and the replicas go too, their toxic in force.
#[tokio::test]
async fn sigint_during_a_network_fault_removes_the_proxies() {
    interrupted_mid_fault("network-latency").await;
}

/// A dependency stopped by the fault is removed like everything else.
#[tokio::test]
async fn sigint_during_a_dependency_outage_removes_the_stopped_dependency() {
    interrupted_mid_fault("dependency-outage").await;
}

/// Every service of a compose project goes, the project's balancer and volumes included.
#[tokio::test]
async fn sigint_during_a_compose_run_removes_the_project() {
    interrupted_mid_fault("examples/compose/leaky-stack.yaml").await;
}

/// Runs `scenario` (a library name or a file) and interrupts it mid-fault.
async fn interrupted_mid_fault(scenario: &str) {
    let out = tempfile::tempdir().unwrap();
    let mut child = sim()
        .args(["run", scenario, "--trials", "3", "--out"])
        .arg(out.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    // Wait until the first fault is in: the run is well under way.
    let started = Instant::now();
    let dir = loop {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no fault was injected"
        );
        if let Some(dir) = run_dir(out.path(), scenario) {
            if journal(&dir).iter().any(|r| r["event"] == "fault_injected") {
                break dir;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    let interrupted = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if interrupted.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("sim did not exit within 30s of SIGINT");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(code, Some(130));

    let records = journal(&dir);
    assert!(records.iter().any(|r| r["event"] == "fault_injected"));
    let last = records.last().unwrap();
    assert_eq!(last["event"], "run_ended");
    assert_eq!(last["interrupted"], true);
    assert!(records
        .iter()
        .any(|r| r["event"] == "trial_ended" && r["interrupted"] == true));
    let run = run_id(&dir);
    assert_eq!(leftovers(&run).await, (0, 0), "the run left Docker objects");
    assert_eq!(leftover_volumes(&run).await, 0, "the run left volumes");
    assert_eq!(leftover_images(&run).await, 0, "the run left images");
}
