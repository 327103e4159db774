//! Finding a lesson by its binary name among the workspace's members, and building it.
//!
//! `cargo metadata` lists every member and its binaries; a lesson is a binary whose name is not
//! its member's own (that one is the member's index). The lesson is built the way `cargo run`
//! would build it, then run from the target folder.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The workspace this binary was built from.
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The members whose binaries are lessons (and the homework tools).
const MEMBERS: [&str; 5] = [
    "threads",
    "processes",
    "coroutines",
    "networking",
    "exercises",
];

/// A lesson (or tool) binary of a member.
pub(crate) struct Lesson {
    pub(crate) member: String,
    pub(crate) name: String,
}

/// Every member's lessons, member by member, as `cargo metadata` lists them.
pub(crate) fn all() -> Result<(Vec<Lesson>, PathBuf), String> {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(format!("{WORKSPACE}/Cargo.toml"))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo to find the lessons: {e}"))?;
    if !output.status.success() {
        return Err("cargo metadata failed: cannot list the lessons".into());
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed something unexpected: {e}"))?;
    let mut lessons = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let member = package["name"].as_str().unwrap_or_default();
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bin = (target["kind"].as_array().into_iter().flatten()).any(|k| k == "bin");
            let name = target["name"].as_str().unwrap_or_default();
            if is_bin && name != member && MEMBERS.contains(&member) {
                lessons.push(Lesson {
                    member: member.to_owned(),
                    name: name.to_owned(),
                });
            }
        }
    }
    let target = metadata["target_directory"].as_str().unwrap_or("target");
    Ok((lessons, PathBuf::from(target)))
}

/// Builds `lesson` as `cargo run` would (the dev profile), returning the binary's path.
pub(crate) fn build(
    lesson: &Lesson,
    target: &std::path::Path,
    build: bool,
) -> Result<PathBuf, String> {
    if build {
        let status = Command::new(cargo())
            .args(["build", "--quiet", "--manifest-path"])
            .arg(format!("{WORKSPACE}/Cargo.toml"))
            .args(["-p", &lesson.member, "--bin", &lesson.name])
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run cargo to build {}: {e}", lesson.name))?;
        if !status.success() {
            return Err(format!("cargo could not build {}", lesson.name));
        }
    }
    let binary = target.join("debug").join(&lesson.name);
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!(
            "{} is not built: run `cargo build -p {} --bin {}`",
            binary.display(),
            lesson.member,
            lesson.name
        ))
    }
}

/// The cargo that runs us, if any (`cargo run` sets `CARGO`), else the one on the `PATH`.
fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}
