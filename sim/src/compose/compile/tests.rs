//! Tests of the compose compile: files compiled from YAML text in a scratch directory, checking
//! the plan they give or each problem at its line:col with its key path.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use specfile::Problems;

use super::limits::compose_size;
use super::{compile, ComposeFile};
use crate::compose::plan::{
    BuiltInImage, Condition, ServiceDependency, ServiceHealthcheck, ServiceImage, ServicePlan,
    VolumeMount, VolumeSource,
};

/// A scratch project directory `shop/` with a build context `app/` (with a Dockerfile) and a
/// bind-mount source `conf/`.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("Shop.Dir/app")).unwrap();
        fs::create_dir_all(dir.path().join("Shop.Dir/conf")).unwrap();
        fs::write(dir.path().join("Shop.Dir/app/Dockerfile"), "FROM scratch\n").unwrap();
        Scratch { dir }
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("Shop.Dir/compose.yaml")
    }

    fn compile(&self, text: &str) -> Result<ComposeFile, Problems> {
        compile(&self.file(), text)
    }
}

/// The problems of `text` as (line, col, field, message, fix).
fn problems(text: &str) -> Vec<(usize, usize, String, String, Option<String>)> {
    let problems = Scratch::new()
        .compile(text)
        .expect_err("should not compile")
        .0;
    problems
        .into_iter()
        .map(|p| (p.line, p.col, p.field, p.message, p.fix))
        .collect()
}

/// Asserts that `text` has exactly one problem, at `field` at `line:col`, whose message
/// contains `words`; returns its fix.
fn check(text: &str, (line, col): (usize, usize), field: &str, words: &str) -> Option<String> {
    let mut problems = problems(text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let (got_line, got_col, got_field, message, fix) = problems.remove(0);
    assert_eq!(
        (got_line, got_col, got_field.as_str()),
        (line, col, field),
        "{message}"
    );
    assert!(message.contains(words), "{message:?} lacks {words:?}");
    fix
}

const GOOD: &str = "\
x-common: &common { anything: goes }
version: '3.8'
services:
  web:
    build: { context: ./app, args: { MODE: fast } }
    environment: [A=1, B=two]
    command: serve --port 8080
    expose: [8080]
    depends_on:
      db: { condition: service_healthy }
      cache:
    deploy: { replicas: 3, resources: { limits: { memory: 64m, cpus: '0.5' } } }
    networks: { backend: { aliases: [api] } }
    labels: { team: shop }
    restart: 'no'
  lb:
    image: sim-haproxy:latest
    ports: ['127.0.0.1:8000:80', { target: 81, published: 9000 }]
    depends_on: [web]
  db:
    image: sim-leaky
    environment: { LEAKY_PORT: 5432 }
    entrypoint: [/sim, target, leaky]
    healthcheck: { test: curl -f localhost, interval: 5s, retries: 5 }
    volumes: [data:/var/lib/db, './conf:/etc/conf:ro']
    mem_limit: 1g
    x-note: ignored
  cache:
    image: redis:7
volumes:
  data:
networks:
  backend: { driver: bridge }
";

#[test]
fn a_good_file_compiles_to_its_plan_in_start_order() {
    let scratch = Scratch::new();
    let compose = scratch.compile(GOOD).unwrap_or_else(|p| panic!("{p}"));
    let plan = &compose.plan;
    assert_eq!(plan.project, "shopdir");
    assert_eq!(plan.file, scratch.file());
    let order: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(order, ["db", "cache", "web", "lb"]);
    let dir = scratch.dir.path().join("Shop.Dir");
    let web = plan.service("web").unwrap();
    let want = ServicePlan {
        name: "web".into(),
        image: ServiceImage::Build {
            context: dir.join("./app"),
            dockerfile: "Dockerfile".into(),
            args: BTreeMap::from([("MODE".into(), "fast".into())]),
        },
        missing_image: web.missing_image.clone(),
        environment: BTreeMap::from([("A".into(), "1".into()), ("B".into(), "two".into())]),
        labels: BTreeMap::from([("team".into(), "shop".into())]),
        entrypoint: None,
        command: Some(vec!["serve".into(), "--port".into(), "8080".into()]),
        healthcheck: None,
        depends_on: vec![
            ServiceDependency {
                service: "db".into(),
                condition: Condition::Healthy,
            },
            ServiceDependency {
                service: "cache".into(),
                condition: Condition::Started,
            },
        ],
        replicas: 3,
        memory_bytes: Some(64 << 20),
        nano_cpus: Some(500_000_000),
        ports: vec![],
        volumes: vec![],
        aliases: vec!["api".into()],
    };
    assert_eq!(web, &want);
    assert_eq!((web.missing_image.line, web.missing_image.col), (5, 5));
    assert_eq!(
        web.missing_image.message,
        "image `sim-compose-shopdir-web:latest` is not in the local Docker engine (nothing can be pulled here)"
    );
    assert_eq!(plan.build_tag("web"), "sim-compose-shopdir-web:latest");
    assert_eq!(compose.first_port("web"), Some(8080));

    let lb = plan.service("lb").unwrap();
    assert_eq!(lb.image, ServiceImage::BuiltIn(BuiltInImage::Haproxy));
    assert_eq!(lb.ports, [80, 81]);
    assert_eq!(compose.first_port("lb"), Some(80));

    let db = plan.service("db").unwrap();
    assert_eq!(db.image, ServiceImage::BuiltIn(BuiltInImage::Leaky));
    assert_eq!(db.environment["LEAKY_PORT"], "5432");
    assert_eq!(
        db.entrypoint.as_deref(),
        Some(&["/sim".to_owned(), "target".into(), "leaky".into()][..])
    );
    assert_eq!(
        db.healthcheck,
        Some(ServiceHealthcheck {
            test: vec!["CMD-SHELL".into(), "curl -f localhost".into()],
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            retries: 5,
            start_period: Duration::ZERO,
        })
    );
    assert_eq!(
        db.volumes,
        [
            VolumeMount {
                source: VolumeSource::Named("data".into()),
                target: "/var/lib/db".into(),
                read_only: false,
            },
            VolumeMount {
                source: VolumeSource::Bind(dir.join("./conf")),
                target: "/etc/conf".into(),
                read_only: true,
            },
        ]
    );
    assert_eq!(db.memory_bytes, Some(1 << 30));
    assert_eq!(db.replicas, 1);

    let cache = plan.service("cache").unwrap();
    assert_eq!(cache.image, ServiceImage::Local("redis:7".into()));
    assert_eq!((cache.missing_image.line, cache.missing_image.col), (29, 5));
    assert_eq!(
        cache.missing_image.message,
        "image `redis:7` is not in the local Docker engine (nothing can be pulled here)"
    );
    assert_eq!(
        cache.missing_image.fix.as_deref(),
        Some(
            "build it first (`docker build -t redis:7 …`), or give the service a `build:` context"
        )
    );
}

#[test]
fn the_name_key_names_the_project() {
    let compose = Scratch::new()
        .compile("name: shop-2\nservices: { a: { image: x } }\n")
        .unwrap();
    assert_eq!(compose.plan.project, "shop-2");
    let fix = check(
        "name: Shop!\nservices: { a: { image: x } }\n",
        (1, 1),
        "name",
        "invalid project name",
    );
    assert_eq!(fix.as_deref(), Some("write `name: shop`"));
}

#[test]
fn unsupported_keys_say_so_and_what_to_do() {
    let fix = check(
        "services:\n  a:\n    image: x\n    privileged: true\n",
        (4, 5),
        "services.a.privileged",
        "sim does not support `privileged`",
    );
    assert_eq!(
        fix.as_deref(),
        Some("remove it, or run this service outside the scenario")
    );
    check(
        "services:\n  a:\n    image: x\n    network_mode: host\n",
        (4, 5),
        "services.a.network_mode",
        "the run's one network",
    );
    check(
        "services: { a: { image: x } }\nsecrets: {}\n",
        (2, 1),
        "secrets",
        "sim does not support `secrets`",
    );
    check(
        "services:\n  a:\n    image: x\n    deploy: { placement: {} }\n",
        (4, 15),
        "services.a.deploy.placement",
        "does not support `placement`",
    );
    let fix = check(
        "services:\n  a:\n    image: x\n    scale: 2\n",
        (4, 5),
        "services.a.scale",
        "`scale`",
    );
    assert_eq!(
        fix.as_deref(),
        Some("write `deploy: { replicas: N }` instead")
    );
}

#[test]
fn unknown_keys_get_did_you_mean() {
    let fix = check(
        "services:\n  a:\n    imgae: x\n    image: x\n",
        (3, 5),
        "services.a.imgae",
        "unknown field `imgae`",
    );
    assert_eq!(fix.as_deref(), Some("did you mean `image`?"));
    check(
        "services: { a: { image: x, healthcheck: { test: x, intervall: 1s } } }\n",
        (1, 52),
        "services.a.healthcheck.intervall",
        "unknown field",
    );
}

#[test]
fn restart_and_container_name_are_refused_with_the_fix() {
    let fix = check(
        "services:\n  a:\n    image: x\n    restart: always\n",
        (4, 5),
        "services.a.restart",
        "behind the healer's back",
    );
    assert!(fix.unwrap().contains("--strategy docker-restart"));
    check(
        "services:\n  a:\n    image: x\n    container_name: web\n",
        (4, 5),
        "services.a.container_name",
        "replicas need distinct names",
    );
}

#[test]
fn labels_are_kept_in_either_syntax_but_not_with_sims_prefixes() {
    let compose = Scratch::new()
        .compile(concat!(
            "services:\n",
            "  a: { image: x, labels: [team=shop, tier=web, bare] }\n",
            "  b: { image: x, labels: { team: shop, port: 80 } }\n",
        ))
        .unwrap_or_else(|p| panic!("{p}"));
    let labels = |name| compose.plan.service(name).unwrap().labels.clone();
    let pairs = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    };
    assert_eq!(
        labels("a"),
        pairs(&[("team", "shop"), ("tier", "web"), ("bare", "")])
    );
    assert_eq!(labels("b"), pairs(&[("team", "shop"), ("port", "80")]));

    let fix = check(
        "services:\n  a:\n    image: x\n    labels: [team=shop, sim.run=mine]\n",
        (4, 25),
        "services.a.labels[1]",
        "sim sets the `sim.*` labels",
    );
    assert!(fix.unwrap().contains("without the `sim.` prefix"));
    check(
        "services:\n  a:\n    image: x\n    labels:\n      com.docker.compose.service: b\n",
        (5, 7),
        "services.a.labels.com.docker.compose.service",
        "sim sets the `com.docker.compose.*` labels",
    );
}

#[test]
fn depends_on_must_name_a_service_without_cycles() {
    let fix = check(
        "services:\n  web: { image: x, depends_on: [dbb] }\n  db: { image: x }\n",
        (2, 33),
        "services.web.depends_on[0]",
        "`dbb`, which is not a service",
    );
    assert_eq!(fix.as_deref(), Some("did you mean `db`?"));
    check(
        "services:\n  a: { image: x, depends_on: [b] }\n  b: { image: x, depends_on: [c] }\n  c: { image: x, depends_on: [b] }\n",
        (3, 18),
        "services.b.depends_on",
        "depends_on forms a cycle: b → c → b",
    );
    check(
        "services:\n  a: { image: x, depends_on: { b: { condition: service_healthy } } }\n  b: { image: x }\n",
        (2, 32),
        "services.a.depends_on.b",
        "`service_healthy` needs a healthcheck, and `b` has none",
    );
    check("services:\n  a: { image: x, depends_on: { b: { condition: healthy } } }\n  b: { image: x }\n", (2, 37), "services.a.depends_on.b.condition", "unknown condition `healthy`");
}

#[test]
fn images_builds_and_mounts_must_exist() {
    check(
        "services:\n  a: { environment: [A=1] }\n",
        (2, 3),
        "services.a",
        "neither `image` nor `build`",
    );
    check(
        "services:\n  a: { build: ./nowhere }\n",
        (2, 8),
        "services.a.build",
        "does not exist",
    );
    check(
        "services:\n  a: { build: { context: app, dockerfile: Nope } }\n",
        (2, 31),
        "services.a.build.dockerfile",
        "there is no",
    );
    check(
        "services:\n  a: { image: x, volumes: ['./gone:/x'] }\n",
        (2, 28),
        "services.a.volumes[0]",
        "bind mount source",
    );
    let fix = check(
        "services:\n  a: { image: x, volumes: ['data:/x'] }\n",
        (2, 28),
        "services.a.volumes[0]",
        "`data` is not declared",
    );
    assert_eq!(
        fix.as_deref(),
        Some("add `volumes: { data: }` at the top level")
    );
}

#[test]
fn replicas_limits_and_networks_are_checked() {
    check(
        "services:\n  a: { image: x, deploy: { replicas: 0 } }\n",
        (2, 28),
        "services.a.deploy.replicas",
        "between 1 and 32, got 0",
    );
    check(
        "services:\n  a: { image: x, deploy: { replicas: 33 } }\n",
        (2, 28),
        "services.a.deploy.replicas",
        "got 33",
    );
    check(
        "services:\n  a: { image: x, mem_limit: 1k }\n",
        (2, 18),
        "services.a.mem_limit",
        "below the 6MiB",
    );
    check(
        "services:\n  a: { image: x, networks: [default, one] }\nnetworks: { one: }\n",
        (2, 38),
        "services.a.networks[1]",
        "can join only one",
    );
    check(
        "services: { a: { image: x } }\nnetworks: { one: , two: }\n",
        (2, 20),
        "networks.two",
        "at most one",
    );
    check(
        "services:\n  a: { image: x, ports: ['53/udp'] }\n",
        (2, 26),
        "services.a.ports[0]",
        "TCP ports only",
    );
}

#[test]
fn every_problem_of_a_file_is_reported_at_once() {
    let got =
        problems("services:\n  a: { image: x, privileged: true }\n  b: { depends_on: [a] }\n");
    let fields: Vec<&str> = got.iter().map(|p| p.2.as_str()).collect();
    assert_eq!(fields, ["services.a.privileged", "services.b"]);
}

#[test]
fn variables_are_refused_where_they_are_written() {
    check(
        "services:\n  a:\n    image: x\n    environment: { A: '${HOME}' }\n",
        (4, 20),
        "services.a.environment.A",
        "does not interpolate",
    );
}

#[test]
fn a_file_without_services_is_refused() {
    check("name: x\n", (1, 1), "services", "is required");
}

#[test]
fn a_yaml_syntax_error_is_located() {
    let got = problems("services:\n  a: { image: x\n  b: {}\n");
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].0 >= 2, "{got:#?}");
}

#[test]
fn sizes_are_read_as_docker_reads_them() {
    assert_eq!(compose_size("512m"), Ok(512 << 20));
    assert_eq!(compose_size("1.5G"), Ok(3 << 29));
    assert_eq!(compose_size("64MiB"), Ok(64 << 20));
    assert_eq!(compose_size("100"), Ok(100));
    assert!(compose_size("lots").is_err());
}
