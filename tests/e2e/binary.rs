//! The `liuqing` binary itself: configuration errors, the first admin, `migrate`, and a
//! graceful stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// A command for the binary with a clean environment: only what the test sets.
fn liuqing(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(server_binary());
    for (name, _) in std::env::vars() {
        if name.starts_with("LIUQING_") || name == "DATABASE_URL" {
            cmd.env_remove(name);
        }
    }
    cmd.env("LIUQING_DATA_DIR", data_dir)
        .env("LIUQING_LOG_FORMAT", "json");
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[test]
fn invalid_settings_stop_the_start_with_one_line_naming_them() {
    let dir = tempfile::tempdir().expect("dir");
    let cases = [
        ("LIUQING_BIND", "nowhere", "`bind`"),
        (
            "LIUQING_DATABASE_URL",
            "mysql://db/liuqing",
            "`database_url`",
        ),
        (
            "LIUQING_ACCESS_TOKEN_TTL_SECS",
            "soon",
            "`access_token_ttl_secs`",
        ),
        ("LIUQING_BLOB_STORE", "s3", "`s3_endpoint`"),
    ];
    for (name, value, named) in cases {
        let out = liuqing(dir.path()).env(name, value).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{name}={value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].contains(named), "{name}: {stderr}");
    }
    let out = liuqing(dir.path())
        .args(["--config", "/no/such/file.toml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    // A secret never appears, even in an error about it.
    let out = liuqing(dir.path())
        .env("LIUQING_JWT_SECRET", "tooshort-secret")
        .output()
        .expect("run");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("tooshort-secret"));
}

#[test]
fn migrate_applies_and_reverts() {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database_url(dir.path());
    let out = liuqing(dir.path())
        .env("LIUQING_DATABASE_URL", &url)
        .arg("migrate")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("applied"));
    let out = liuqing(dir.path())
        .env("LIUQING_DATABASE_URL", &url)
        .arg("migrate")
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "nothing to do");
    let out = liuqing(dir.path())
        .env("LIUQING_DATABASE_URL", &url)
        .args(["migrate", "--down"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("reverted"));
}

struct Running {
    child: Child,
    port: u16,
    /// The lines written to stderr until the server said it was listening.
    startup: Vec<String>,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary and waits until it has said it is listening and answers HTTP.
fn start(mut cmd: Command) -> Running {
    let port = free_port();
    let mut child = cmd
        .env("LIUQING_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut startup = Vec::new();
    while !startup.iter().any(|l: &String| l.contains("\"listening\"")) {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => startup.push(line),
            Err(_) => panic!("the server did not start: {startup:?}"),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !answers_http(port) {
        assert!(Instant::now() < deadline, "the server does not answer");
        std::thread::sleep(Duration::from_millis(50));
    }
    Running {
        child,
        port,
        startup,
        stderr: rx,
    }
}

fn answers_http(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 12];
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_ok()
        && s.read_exact(&mut buf).is_ok()
        && buf.starts_with(b"HTTP/1.1 200")
}

#[actix_web::test]
async fn the_first_admin_gets_a_one_time_password_printed_once() {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database_url(dir.path());
    let mut cmd = liuqing(dir.path());
    cmd.env("LIUQING_DATABASE_URL", &url);
    let server = start(cmd);
    let lines = server.startup.clone();
    let password = lines
        .iter()
        .find_map(|l| l.split("one-time password: ").nth(1))
        .map(|p| p.trim().to_string())
        .expect("the one-time password is printed");
    // Only that one line holds it; the structured log never does.
    assert_eq!(lines.iter().filter(|l| l.contains(&password)).count(), 1);

    let base = format!("http://127.0.0.1:{}", server.port);
    let client = reqwest::Client::new();
    let login = |password: String| {
        client
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({ "username": "admin", "password": password,
                           "device": { "id": new_id(), "name": "laptop", "platform": "web" } }))
            .send()
    };
    let r = reply(login(password.clone()).await.expect("sent")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["must_change_password"], true);
    let access = r.body["access_token"].as_str().expect("token").to_string();
    let r = reply(
        client
            .get(format!("{base}/v1/admin/users"))
            .bearer_auth(&access)
            .send()
            .await
            .expect("sent"),
    )
    .await;
    r.problem(403, "password_change_required");
    let r = reply(
        client
            .post(format!("{base}/v1/auth/password"))
            .bearer_auth(&access)
            .json(&json!({ "current_password": password, "new_password": PASSWORD }))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = reply(
        client
            .get(format!("{base}/v1/admin/users"))
            .bearer_auth(&access)
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database_url(dir.path());
    let mut cmd = liuqing(dir.path());
    cmd.env("LIUQING_DATABASE_URL", &url)
        .env("LIUQING_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let mut server = start(cmd);
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    let mut lines = server.startup.clone();
    lines.extend(server.stderr.iter());
    assert!(
        lines.iter().any(|l| l.contains("stopped cleanly")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains(ADMIN_PASSWORD)),
        "a password reached the log"
    );
}
