//! The image of `deploy/Dockerfile` builds, runs the binary and not as root.
//!
//! Needs a docker daemon that can pull the base images, so it is ignored by
//! default: `cargo test --test docker -- --ignored` (CI runs it when `docker
//! info` answers).

use std::path::Path;
use std::process::Command;

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .output()
        .expect("docker runs")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
#[ignore = "needs a docker daemon that can pull rust and debian images"]
fn the_image_builds_and_runs_guanjia_as_a_non_root_user() {
    let tag = "guanjia-test:latest";
    let built = docker(&["build", "-f", "deploy/Dockerfile", "-t", tag, "."]);
    assert!(
        built.status.success(),
        "docker build failed:\n{}",
        text(&built)
    );

    let version = docker(&["run", "--rm", tag, "--version"]);
    assert!(version.status.success(), "{}", text(&version));
    assert!(text(&version).contains("guanjia"), "{}", text(&version));

    let user = docker(&["run", "--rm", "--entrypoint", "id", tag, "-u"]);
    assert!(user.status.success(), "{}", text(&user));
    assert_ne!(text(&user).trim(), "0", "the container runs as root");
}
