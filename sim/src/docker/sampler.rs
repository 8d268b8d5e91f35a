//! Resource samples of a trial's target containers, taken by the harness whoever heals:
//! memory (as `docker stats` shows it: usage without the inactive page cache) against the
//! limit, CPU % and CFS throttled time, journalled as `resource_sample` events.
//!
//! Docker's stats API gives about one sample a second, and a one-shot call takes ~1 s here; the
//! container's cgroup files on the engine's host answer in microseconds. So samples come from
//! the cgroup files (cgroup v1 `memory/docker/<id>/…`, `cpuacct/…`, `cpu/…`; cgroup v2
//! `system.slice/docker-<id>.scope/…` or `docker/<id>/…`) every [`SAMPLE_INTERVAL`], and from
//! the stats API (through the healer's `DockerPlatform`) only where those files cannot be read:
//! Docker on another host, about one sample a second, no throttled time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use healer::{Platform, TargetRef};
use journal::{Event, Sink};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::{LABEL_RUN, LABEL_TARGET, LABEL_TRIAL};

/// How often each target container is sampled (10 a second).
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(100);
/// How often the trial's containers are listed again (a healer may replace or clone one).
const LIST_INTERVAL: Duration = Duration::from_millis(250);
/// A cgroup v1 memory limit at or above this means "no limit".
const UNLIMITED: u64 = 1 << 62;

/// Samples every container of `trial` in `run_id` until `cancel` fires.
pub async fn sample_resources(
    docker: Docker,
    run_id: String,
    trial: u32,
    sink: Arc<dyn Sink>,
    cancel: CancellationToken,
) {
    let cgroups = CgroupRoot::new(Path::new("/sys/fs/cgroup"));
    let mut sampled = HashSet::new();
    let mut samplers = JoinSet::new();
    let mut ticks = tokio::time::interval(LIST_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticks.tick() => {}
        }
        for (id, target) in trial_containers(&docker, &run_id, trial).await {
            if !sampled.insert(id.clone()) {
                continue;
            }
            samplers.spawn(sample_container(
                docker.clone(),
                cgroups.clone(),
                TargetRef {
                    id,
                    name: target,
                    labels: BTreeMap::new(),
                },
                sink.clone(),
                cancel.clone(),
            ));
        }
    }
    samplers.shutdown().await;
}

/// The trial's containers (running or not) by id, with the name the journal gives each: its
/// `sim.target` label, or for a container that shares it (a healer's clone) its Docker name.
async fn trial_containers(docker: &Docker, run_id: &str, trial: u32) -> Vec<(String, String)> {
    let filters = HashMap::from([(
        "label",
        vec![
            format!("{LABEL_RUN}={run_id}"),
            format!("{LABEL_TRIAL}={trial}"),
        ],
    )]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let Ok(containers) = docker.list_containers(Some(options)).await else {
        return Vec::new();
    };
    let prefix = format!("/sim-{run_id}-t{trial}-");
    containers
        .into_iter()
        .filter_map(|c| {
            let id = c.id?;
            let label = c.labels.as_ref()?.get(LABEL_TARGET)?.clone();
            let own_name = format!("{prefix}{label}");
            let names = c.names.unwrap_or_default();
            let name = match names.iter().find(|n| n.starts_with(&prefix)) {
                Some(n) if *n != own_name => n.trim_start_matches(&prefix).to_owned(),
                _ => label,
            };
            Some((id, name))
        })
        .collect()
}

/// Samples one container every [`SAMPLE_INTERVAL`] while it exists. A stopped container has no
/// cgroup: no sample until it runs again (a restart keeps its id).
async fn sample_container(
    docker: Docker,
    cgroups: CgroupRoot,
    target: TargetRef,
    sink: Arc<dyn Sink>,
    cancel: CancellationToken,
) {
    let stats_api = healer::DockerPlatform::new(docker);
    let mut previous: Option<(Instant, Reading)> = None;
    // Once its cgroup files were read, a container without them is stopped (or removed).
    let mut has_cgroup = false;
    let mut ticks = tokio::time::interval(SAMPLE_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let reading = match cgroups.read(&target.id) {
            Some(reading) => {
                has_cgroup = true;
                Some(reading)
            }
            None if has_cgroup => None,
            None => stats_api
                .stats(&target)
                .await
                .ok()
                .map(|s| Reading::from_stats(&s)),
        };
        let now = Instant::now();
        match reading {
            Some(reading) => {
                let since = previous.as_ref().map(|(at, r)| (now - *at, r));
                sink.record(reading.event(&target.name, since));
                previous = Some((now, reading));
            }
            // Not running: its counters start again when it does.
            None => previous = None,
        }
    }
}

/// One reading of a container's counters.
#[derive(Debug, Clone, PartialEq)]
struct Reading {
    memory_bytes: u64,
    memory_limit_bytes: Option<u64>,
    cpu_ns: u64,
    throttled_ns: Option<u64>,
    source: &'static str,
}

impl Reading {
    fn from_stats(stats: &healer::Stats) -> Reading {
        Reading {
            memory_bytes: stats.memory_bytes,
            memory_limit_bytes: stats.memory_limit_bytes,
            cpu_ns: stats.cpu_total_ns,
            throttled_ns: None,
            source: "stats",
        }
    }

    /// The journal's sample: CPU and throttling as rates since `previous` (taken `elapsed`
    /// before), absent on the first sample or after the counters restarted.
    fn event(&self, target: &str, previous: Option<(Duration, &Reading)>) -> Event {
        let since = previous.filter(|(elapsed, p)| !elapsed.is_zero() && p.cpu_ns <= self.cpu_ns);
        let cpu_percent = since.map(|(elapsed, p)| {
            (self.cpu_ns - p.cpu_ns) as f64 / elapsed.as_nanos() as f64 * 100.0
        });
        let throttled_ms = since.and_then(|(_, p)| {
            Some(self.throttled_ns?.saturating_sub(p.throttled_ns?) as f64 / 1e6)
        });
        Event::ResourceSample {
            target: target.to_owned(),
            memory_bytes: self.memory_bytes,
            memory_limit_bytes: self.memory_limit_bytes,
            cpu_percent,
            throttled_ms,
            source: self.source.to_owned(),
        }
    }
}

/// The host's cgroup hierarchy, where Docker puts each container.
#[derive(Debug, Clone)]
struct CgroupRoot(PathBuf);

impl CgroupRoot {
    fn new(root: &Path) -> CgroupRoot {
        CgroupRoot(root.to_owned())
    }

    /// The container's counters, when its cgroup files can be read here.
    fn read(&self, id: &str) -> Option<Reading> {
        self.read_v1(id).or_else(|| self.read_v2(id))
    }

    fn read_v1(&self, id: &str) -> Option<Reading> {
        let dir = |controller: &str| {
            ["docker", "system.slice"].iter().find_map(|parent| {
                let leaf = match *parent {
                    "docker" => id.to_owned(),
                    _ => format!("docker-{id}.scope"),
                };
                let path = self.0.join(controller).join(parent).join(leaf);
                path.is_dir().then_some(path)
            })
        };
        let memory = dir("memory")?;
        let usage = read_number(&memory.join("memory.usage_in_bytes"))?;
        let inactive = stat_field(&memory.join("memory.stat"), "total_inactive_file").unwrap_or(0);
        let limit = read_number(&memory.join("memory.limit_in_bytes")).filter(|l| *l < UNLIMITED);
        let cpu_ns = read_number(&dir("cpuacct")?.join("cpuacct.usage"))?;
        let throttled_ns =
            dir("cpu").and_then(|d| stat_field(&d.join("cpu.stat"), "throttled_time"));
        Some(Reading {
            memory_bytes: usage.saturating_sub(inactive),
            memory_limit_bytes: limit,
            cpu_ns,
            throttled_ns,
            source: "cgroup",
        })
    }

    fn read_v2(&self, id: &str) -> Option<Reading> {
        let dir = [
            self.0
                .join("system.slice")
                .join(format!("docker-{id}.scope")),
            self.0.join("docker").join(id),
        ]
        .into_iter()
        .find(|d| d.join("memory.current").is_file())?;
        let usage = read_number(&dir.join("memory.current"))?;
        let inactive = stat_field(&dir.join("memory.stat"), "inactive_file").unwrap_or(0);
        // `memory.max` reads `max` when unlimited: not a number, so `None`.
        let limit = read_number(&dir.join("memory.max"));
        let cpu_stat = dir.join("cpu.stat");
        Some(Reading {
            memory_bytes: usage.saturating_sub(inactive),
            memory_limit_bytes: limit,
            cpu_ns: stat_field(&cpu_stat, "usage_usec")?.saturating_mul(1000),
            throttled_ns: stat_field(&cpu_stat, "throttled_usec").map(|us| us.saturating_mul(1000)),
            source: "cgroup",
        })
    }
}

fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The value of `key` in a `key value` per line file (`memory.stat`, `cpu.stat`).
fn stat_field(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn cgroup_v1_files_give_memory_without_inactive_cache_and_the_limit() {
        let root = tempfile::tempdir().unwrap();
        let id = "abc";
        let memory = root.path().join("memory/docker").join(id);
        write(&memory.join("memory.usage_in_bytes"), "50000000\n");
        write(&memory.join("memory.limit_in_bytes"), "67108864\n");
        write(
            &memory.join("memory.stat"),
            "cache 1\ntotal_inactive_file 1000000\n",
        );
        write(
            &root.path().join("cpuacct/docker/abc/cpuacct.usage"),
            "2000000000\n",
        );
        write(
            &root.path().join("cpu/docker/abc/cpu.stat"),
            "nr_periods 10\nnr_throttled 2\nthrottled_time 30000000\n",
        );
        let reading = CgroupRoot::new(root.path()).read(id).unwrap();
        assert_eq!(
            reading,
            Reading {
                memory_bytes: 49_000_000,
                memory_limit_bytes: Some(67_108_864),
                cpu_ns: 2_000_000_000,
                throttled_ns: Some(30_000_000),
                source: "cgroup",
            }
        );
        assert_eq!(CgroupRoot::new(root.path()).read("other"), None);
    }

    #[test]
    fn cgroup_v2_files_and_an_unlimited_container() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("system.slice/docker-abc.scope");
        write(&dir.join("memory.current"), "4096\n");
        write(&dir.join("memory.max"), "max\n");
        write(&dir.join("memory.stat"), "anon 1\ninactive_file 96\n");
        write(&dir.join("cpu.stat"), "usage_usec 1500\nthrottled_usec 7\n");
        let reading = CgroupRoot::new(root.path()).read("abc").unwrap();
        assert_eq!(reading.memory_bytes, 4000);
        assert_eq!(reading.memory_limit_bytes, None);
        assert_eq!(reading.cpu_ns, 1_500_000);
        assert_eq!(reading.throttled_ns, Some(7000));
    }

    #[test]
    fn cpu_and_throttling_are_rates_since_the_previous_sample() {
        let reading = |cpu_ns, throttled_ns| Reading {
            memory_bytes: 1,
            memory_limit_bytes: None,
            cpu_ns,
            throttled_ns: Some(throttled_ns),
            source: "cgroup",
        };
        let first = reading(1_000_000_000, 0);
        let Event::ResourceSample {
            cpu_percent,
            throttled_ms,
            ..
        } = first.event("t", None)
        else {
            panic!("not a sample");
        };
        assert_eq!((cpu_percent, throttled_ms), (None, None));
        // 50 ms of CPU in 100 ms: 50 %; 20 ms throttled.
        let second = reading(1_050_000_000, 20_000_000);
        let Event::ResourceSample {
            cpu_percent,
            throttled_ms,
            ..
        } = second.event("t", Some((Duration::from_millis(100), &first)))
        else {
            panic!("not a sample");
        };
        assert!((cpu_percent.unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(throttled_ms, Some(20.0));
        // A restarted container's counters start again: no rate across the restart.
        let restarted = reading(5, 0);
        let Event::ResourceSample { cpu_percent, .. } =
            restarted.event("t", Some((Duration::from_millis(100), &second)))
        else {
            panic!("not a sample");
        };
        assert_eq!(cpu_percent, None);
    }
}
