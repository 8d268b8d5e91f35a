//! The `healer` binary's argument handling: what it refuses, with which exit code and message,
//! before it touches Docker or the network; and a real start and SIGTERM against Docker.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn healer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_healer"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn runbooks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks")
}

fn check(output: &Output, code: i32, stderr_has: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    for needle in stderr_has {
        assert!(
            stderr.contains(needle),
            "{needle:?} not in stderr: {stderr}"
        );
    }
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let output = healer(&["serve", "--help"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout.contains("healer serve --runbooks"), "{stdout}");
    assert!(stdout.contains("Exit codes:"), "{stdout}");
}

#[test]
fn a_non_loopback_address_needs_allow_remote_and_then_a_token() {
    let dir = runbooks_dir();
    let dir = dir.to_str().unwrap();
    let output = healer(&["serve", "--runbooks", dir, "--listen", "0.0.0.0:9095"]);
    check(
        &output,
        2,
        &["refusing to listen on 0.0.0.0:9095", "--allow-remote"],
    );
    let output = healer(&[
        "serve",
        "--runbooks",
        dir,
        "--listen",
        "0.0.0.0:9095",
        "--allow-remote",
    ]);
    check(&output, 2, &["--allow-remote needs a bearer token"]);
}

#[test]
fn a_missing_runbooks_directory_is_bad_input() {
    let output = healer(&["serve", "--runbooks", "/nonexistent/runbooks"]);
    check(
        &output,
        2,
        &[
            "/nonexistent/runbooks",
            "cannot read the runbooks directory",
        ],
    );
}

#[test]
fn every_problem_of_every_runbook_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "name: a\nclass: oom\nwhen: []\nsteps: []\nbogus: 1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.yml"),
        "name: b\nclass: [not, a, string]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a runbook").unwrap();
    let output = healer(&["serve", "--runbooks", dir.path().to_str().unwrap()]);
    check(&output, 2, &["a.yaml:", "bogus", "b.yml:"]);
}

#[test]
fn an_empty_runbooks_directory_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let output = healer(&["serve", "--runbooks", dir.path().to_str().unwrap()]);
    check(&output, 2, &["no runbook files"]);
}

#[test]
fn bad_flag_values_are_bad_input() {
    let dir = runbooks_dir();
    let dir = dir.to_str().unwrap();
    check(
        &healer(&["serve", "--runbooks", dir, "--scope", "novalue"]),
        2,
        &["expected LABEL=VALUE"],
    );
    check(
        &healer(&["serve", "--runbooks", dir, "--max-body", "lots"]),
        2,
        &["invalid size"],
    );
    check(
        &healer(&[
            "serve",
            "--runbooks",
            dir,
            "--token-file",
            "/nonexistent/token",
        ]),
        2,
        &["cannot read the token file /nonexistent/token"],
    );
    let advisor = |url: &str, confidence: &str| {
        healer(&[
            "serve",
            "--runbooks",
            dir,
            "--advisor-url",
            url,
            "--advisor-model",
            "m",
            "--advisor-min-confidence",
            confidence,
        ])
    };
    check(
        &advisor("ftp://127.0.0.1:11434", "0.7"),
        2,
        &["bad advisor settings", "the scheme must be http"],
    );
    check(
        &advisor("http://127.0.0.1:11434", "1.5"),
        2,
        &["min_confidence must be between 0 and 1"],
    );
    check(
        &healer(&[
            "serve",
            "--runbooks",
            dir,
            "--advisor-url",
            "http://127.0.0.1:1",
        ]),
        2,
        &["--advisor-model"],
    );
    let output = Command::new(env!("CARGO_BIN_EXE_healer"))
        .args([
            "serve",
            "--runbooks",
            dir,
            "--token-env",
            "HEALER_TEST_TOKEN",
        ])
        .env("HEALER_TEST_TOKEN", "  ")
        .output()
        .unwrap();
    check(&output, 2, &["$HEALER_TEST_TOKEN", "it is empty"]);
}

#[test]
fn no_docker_engine_is_an_environment_error_with_a_fix() {
    let output = Command::new(env!("CARGO_BIN_EXE_healer"))
        .args(["serve", "--runbooks", runbooks_dir().to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    check(&output, 3, &["no Docker engine answers", "DOCKER_HOST"]);
}
