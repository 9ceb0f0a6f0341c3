//! `devopstrack user create` against an embedded store: a user added, a duplicate and an unknown role refused.

use std::io::Write;
use std::process::{Command, Stdio};

use super::BIN;

#[test]
fn user_create_adds_a_user_and_refuses_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/auth.db", dir.path().display());
    let run = |email: &str| {
        let mut child = Command::new(BIN)
            .args([
                "user",
                "create",
                "--email",
                email,
                "--role",
                "operator",
                "--password-stdin",
                "--database-url",
                &url,
            ])
            .env("DEVOPSTRACK_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn user create");
        child.stdin.take().unwrap().write_all(b"operator password 1\n").unwrap();
        child.wait_with_output().unwrap()
    };
    let created = run("ops@example.com");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(stdout.contains("created ops@example.com (operator)"), "{stdout}");
    assert!(
        !stdout.contains("operator password 1"),
        "a password from stdin is never echoed"
    );

    let duplicate = run("OPS@example.com");
    assert!(!duplicate.status.success());
    assert!(
        String::from_utf8_lossy(&duplicate.stderr).contains("already exists"),
        "{duplicate:?}"
    );

    let bad_role = Command::new(BIN)
        .args([
            "user",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "root",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(!bad_role.status.success());
    assert!(
        String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"),
        "{bad_role:?}"
    );
}
