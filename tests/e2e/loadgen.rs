//! The load generator (`liuqing-loadgen`) is a benchmark, not a test; this runs a tiny
//! workload through it against the real binary so that it keeps working.

use std::process::Command;

use crate::helpers::server_binary;

#[test]
fn the_load_generator_runs_a_tiny_workload_and_checks_its_conflicts() {
    let out = Command::new(env!("CARGO_BIN_EXE_liuqing-loadgen"))
        .args(["--server-bin"])
        .arg(server_binary())
        .args(["--households", "10", "--edits", "40", "--devices", "2"])
        .args(["--communities", "1", "--batch", "7", "--page", "9"])
        .output()
        .expect("the load generator starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It fails by itself when a count is off or a conflict is missing; 40 edits at 5% are
    // one overlapping pair.
    assert!(
        stdout.contains("1 of 1 overlapping pairs answered merged/conflict; 1 listed"),
        "{stdout}"
    );
}
