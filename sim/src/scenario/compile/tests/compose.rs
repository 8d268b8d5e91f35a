//! Tests of `target.compose` and `load.via`: the target made from a compose service, and the
//! problems of the pair, in the scenario and in the compose file.

use std::fs;

use super::Scratch;
use crate::scenario::plan::{Balancer, TargetImage};

const STACK: &str = "\
services:
  web:
    image: sim-leaky
    environment: { LEAKY_WORK_ITERATIONS: 100, MODE: compose }
    expose: [8080]
    deploy: { replicas: 3, resources: { limits: { memory: 64m, cpus: '0.5' } } }
  app:
    build: .
    ports: ['9000']
  lb:
    image: sim-haproxy
    ports: ['8000:80']
    depends_on: [web]
  worker:
    image: worker:1
";

impl Scratch {
    /// Writes `stack/compose.yaml` with `text`.
    fn stack(&self, text: &str) -> &Self {
        let dir = self.dir.path().join("stack");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("compose.yaml"), text).unwrap();
        fs::write(dir.join("Dockerfile"), "FROM scratch\n").unwrap();
        self
    }
}

/// A scenario aimed at the stack, with `target` and `load` lines added.
fn scenario(target: &str, load: &str) -> String {
    format!("target:\n  compose: stack/compose.yaml\n{target}load:\n  duration: 10s\n{load}")
}

/// Asserts the scenario has exactly one problem, at `field` on `line`, saying `words`.
fn check(text: &str, line: usize, field: &str, words: &str) {
    let scratch = Scratch::new();
    let problems = scratch.stack(STACK).problems(text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let (got_line, got_field, message) = &problems[0];
    assert_eq!((*got_line, got_field.as_str()), (line, field), "{message}");
    assert!(message.contains(words), "{message:?} lacks {words:?}");
}

#[test]
fn the_target_is_made_from_its_service() {
    let scratch = Scratch::new();
    let text = scenario("  service: web\n  env: { MODE: scenario }\n", "  via: lb\n");
    let plan = scratch
        .stack(STACK)
        .compile(&text)
        .unwrap_or_else(|p| panic!("{p}"));
    let target = &plan.target;
    assert_eq!(target.name, "web");
    assert_eq!(target.image, TargetImage::Leaky);
    assert_eq!((target.replicas, target.port), (3, 8080));
    assert_eq!(
        (target.memory_bytes, target.nano_cpus),
        (Some(64 << 20), Some(500_000_000))
    );
    assert_eq!(target.env["LEAKY_WORK_ITERATIONS"], "100");
    assert_eq!(target.env["MODE"], "scenario");
    assert_eq!(target.balancer, Balancer::None);
    assert_eq!(plan.load.via.as_deref(), Some("lb"));
    let compose = plan.compose.unwrap();
    assert_eq!(compose.project, "stack");
    assert_eq!(compose.file, scratch.dir.path().join("stack/compose.yaml"));
    let order: Vec<&str> = compose.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(order, ["web", "app", "lb", "worker"]);
}

#[test]
fn a_built_service_runs_its_build_tag_and_several_replicas_get_a_balancer() {
    let scratch = Scratch::new();
    let plan = scratch
        .stack(STACK)
        .compile(&scenario("  service: app\n", ""))
        .unwrap();
    assert_eq!(
        plan.target.image,
        TargetImage::Local("sim-compose-stack-app:latest".into())
    );
    assert_eq!(plan.target.port, 9000);
    let plan = scratch.compile(&scenario("  service: web\n", "")).unwrap();
    assert_eq!(plan.target.balancer, Balancer::Haproxy);
    let plan = scratch
        .compile(&scenario("  service: worker\n  port: 7000\n", ""))
        .unwrap();
    assert_eq!(plan.target.image, TargetImage::Local("worker:1".into()));
    assert_eq!(plan.target.port, 7000);
}

#[test]
fn settings_of_the_service_are_refused_in_the_scenario() {
    let text = scenario("  service: web\n  replicas: 2\n", "");
    check(
        &text,
        4,
        "target.replicas",
        "`replicas` cannot be given with `target.compose`",
    );
    check(
        &scenario("  service: web\n  image: leaky\n", ""),
        4,
        "target.image",
        "cannot be given",
    );
}

#[test]
fn the_service_must_exist_and_be_a_target() {
    check(
        &scenario("  service: wbe\n", ""),
        3,
        "target.service",
        "no service `wbe`; it has: web, app, lb, worker",
    );
    check(
        &scenario("  service: lb\n", ""),
        3,
        "target.service",
        "`sim-haproxy`, a balancer",
    );
    check(
        &scenario("  service: worker\n", ""),
        3,
        "target.service",
        "no `ports` or `expose`",
    );
    check(&scenario("", ""), 1, "target.service", "is required");
}

#[test]
fn via_names_a_service_with_a_port() {
    check(
        &scenario("  service: web\n", "  via: worker\n"),
        6,
        "load.via",
        "publishes no port",
    );
    check(
        &scenario("  service: web\n", "  via: bl\n"),
        6,
        "load.via",
        "no service `bl`",
    );
    let text = "target: { image: leaky }\nload: { duration: 5s, via: lb }\n";
    check(text, 2, "load.via", "there is none");
    let text = scenario("  service: web\n  balancer: haproxy\n", "  via: lb\n");
    check(&text, 4, "target.balancer", "the project's own balancer");
}

#[test]
fn problems_of_the_compose_file_are_reported_at_their_place_in_it() {
    let scratch = Scratch::new();
    scratch.stack("services:\n  web:\n    image: sim-leaky\n    privileged: true\n");
    let problems = scratch
        .compile(&scenario("  service: web\n", ""))
        .unwrap_err()
        .0;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(
        problems[0].file,
        scratch.dir.path().join("stack/compose.yaml")
    );
    assert_eq!((problems[0].line, problems[0].col), (4, 5));
    assert_eq!(problems[0].field, "services.web.privileged");
    check(
        &scenario("  service: web\n", "").replace("stack/", "nowhere/"),
        2,
        "target.compose",
        "there is no compose file",
    );
}
