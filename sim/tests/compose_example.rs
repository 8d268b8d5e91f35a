//! The compose example end to end, through the `sim` binary, as the README tells users to run it:
//! sim brings up the project of examples/compose/ (a leaky `web` scaled to 3 behind the
//! project's own HAProxy), one instance is OOM-killed under load, the embedded healer heals it,
//! the load goes through the project's balancer, and nothing is left behind.

mod common;

use common::{journal, leftover_images, leftover_volumes, result, run_id, run_scenario};

#[tokio::test]
async fn the_compose_example_heals_the_oom_killed_instance_and_leaves_nothing_behind() {
    let out = tempfile::tempdir().unwrap();
    let (stdout, dir) = run_scenario(out.path(), "examples/compose/leaky-stack.yaml", 2);
    assert!(stdout.contains("MTTR"), "{stdout}");

    let result = result(&dir);
    let trials = result["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 2);
    let records = journal(&dir);
    for trial in trials {
        // A heal happened to the instance the fault hit, and the prober saw it end.
        assert_eq!(trial["outage"], true, "{trial}");
        assert!(trial["heals"].as_u64().unwrap() >= 1, "{trial}");
        assert!(trial["mttr_ms"].as_f64().unwrap() > 0.0, "{trial}");
        let of_trial = |r: &&serde_json::Value| r["trial"] == trial["trial"];
        let healed: Vec<&serde_json::Value> = records
            .iter()
            .filter(of_trial)
            .filter(|r| r["event"] == "action_finished" && r["ok"] == true)
            .collect();
        assert!(
            healed.iter().all(|r| r["target"] == "web-1"),
            "the healer acted on an instance the fault did not hit: {healed:?}"
        );
        // Every service of the project ran in the trial: three instances and the balancer.
        let started: Vec<&str> = records
            .iter()
            .filter(of_trial)
            .filter(|r| r["event"] == "target_started")
            .filter_map(|r| r["target"].as_str())
            .collect();
        for name in ["web-0", "web-1", "web-2", "lb-0"] {
            assert!(started.contains(&name), "{name} not started: {started:?}");
        }
    }
    // The load went through the project's balancer, which kept serving while web-1 was down.
    let ok: u64 = records
        .iter()
        .filter(|r| r["event"] == "load")
        .filter_map(|r| r["requests_ok"].as_u64())
        .sum();
    assert!(ok > 1000, "only {ok} good requests");
    assert_eq!(result["summary"]["passed"], true, "{result}");

    let run = run_id(&dir);
    assert_eq!(
        common::leftovers(&run).await,
        (0, 0),
        "containers or networks left"
    );
    assert_eq!(leftover_volumes(&run).await, 0, "volumes left");
    assert_eq!(leftover_images(&run).await, 0, "images left");
}
