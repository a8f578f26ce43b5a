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
fn start(cmd: Command) -> Running {
    start_on(cmd, free_port())
}

/// [`start`] on a given port.
fn start_on(mut cmd: Command, port: u16) -> Running {
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

/// Counts the records the server has committed, from outside the server.
fn committed_records(backend: &liuqing_schema::Backend) -> i64 {
    use diesel::prelude::*;
    let mut conn = backend.connect().expect("connect");
    liuqing_schema::tables::records::table
        .count()
        .get_result(&mut conn)
        .expect("count")
}

/// The server is killed (SIGKILL) while it applies a large push; after a restart the phone
/// sends the same push again, and every mutation is applied exactly once.
#[actix_web::test]
async fn a_push_interrupted_by_a_crash_is_applied_exactly_once_on_retry() {
    use crate::sync::{push, Phone};

    const TOTAL: usize = 3000;
    let dir = tempfile::tempdir().expect("dir");
    let mut config = test_config(dir.path());
    config.jwt_secret = Default::default();
    config.sync_max_mutations = TOTAL;
    let env = |cmd: &mut Command, config: &liuqing_api::Config| {
        // (Visit tasks the upkeep would raise at start for the households pushed would
        // count among the records.)
        cmd.env("LIUQING_DATABASE_URL", &config.database_url)
            .env("LIUQING_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("LIUQING_SYNC_MAX_MUTATIONS", TOTAL.to_string())
            .env("LIUQING_VISIT_TASKS", "false");
    };
    let mut cmd = liuqing(dir.path());
    env(&mut cmd, &config);
    let mut server = start(cmd);
    let app = TestApp::attach(
        format!("http://127.0.0.1:{}", server.port),
        config.clone(),
        dir,
    );
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let phone = Phone::new(
        app.user(&admin, "coord-a", "coordinator", &[&t.community_a])
            .await,
    );
    let batch: Vec<serde_json::Value> = (0..TOTAL)
        .map(|i| {
            phone.upsert(
                "household",
                &new_id(),
                None,
                json!({ "community_id": t.community_a, "address": format!("{i}号") }),
            )
        })
        .collect();

    // Push in the background; kill the server once part of the batch has committed.
    let backend = config.backend().expect("backend");
    let in_flight = {
        let client = app.client.clone();
        let url = format!("{}/v1/sync/push", app.base);
        let token = phone.s.access.clone();
        let body = json!({ "schema_version": 1, "mutations": batch.clone() });
        actix_web::rt::spawn(
            async move { client.post(url).bearer_auth(token).json(&body).send().await },
        )
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    // Poll without blocking this runtime: the push runs on it.
    while committed_records(&backend) < 100 {
        assert!(Instant::now() < deadline, "the push never started");
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    assert!(
        in_flight.await.expect("join").is_err(),
        "the phone never heard an answer"
    );
    let before_retry = committed_records(&backend);
    assert!(
        (100..TOTAL as i64).contains(&before_retry),
        "killed mid-push: {before_retry} of {TOTAL}"
    );

    // Restart on the same data; the phone retries the same batch.
    let (config, dir) = app.stop().await;
    let mut cmd = liuqing(dir.path());
    env(&mut cmd, &config);
    let server = start(cmd);
    let app = TestApp::attach(format!("http://127.0.0.1:{}", server.port), config, dir);
    let retry = push(&app, &phone, batch.clone()).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    let results = retry.body["results"].as_array().expect("results");
    assert_eq!(results.len(), TOTAL);
    assert!(
        results.iter().all(|r| r["status"] == "applied"),
        "every mutation applied"
    );
    let mut versions: Vec<i64> = results
        .iter()
        .filter_map(|r| r["version"].as_i64())
        .collect();
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), TOTAL, "one change per mutation, none twice");
    assert_eq!(committed_records(&backend), TOTAL as i64, "exactly once");

    // Nothing half-applied: every record has its projection, and a further retry changes nothing.
    let again = push(&app, &phone, batch).await;
    assert_eq!(again.body["results"], retry.body["results"]);
    let mut conn = backend.connect().expect("connect");
    use diesel::prelude::*;
    let projected: i64 = liuqing_schema::tables::households_index::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!(projected, TOTAL as i64);
    drop(server);
}

/// The server is killed at each step of a push's transaction (the debug build's
/// `LIUQING_TEST_CRASH_AT` hook aborts the process there): a retiring device pushes a
/// household and a signed commitment. Each crash leaves none of it: no record, no seal,
/// the device still retiring. The phone's retry on the restarted server applies all of
/// it once: the records, the commitment's seal (its binding intact), and the device's lock.
#[actix_web::test]
async fn a_crash_at_any_step_of_a_push_leaves_all_of_it_or_none() {
    use diesel::prelude::*;
    use liuqing_schema::tables::devices;

    use crate::sync::{household_with_person, push, Phone};

    let dir = tempfile::tempdir().expect("dir");
    let mut config = test_config(dir.path());
    config.jwt_secret = Default::default();
    let server_on =
        |config: &liuqing_api::Config, dir: &std::path::Path, crash_at: Option<&str>| {
            let mut cmd = liuqing(dir);
            // (The upkeep's own writes at start, visit tasks for the households pushed,
            // would meet the crash point before any push.)
            cmd.env("LIUQING_DATABASE_URL", &config.database_url)
                .env("LIUQING_ADMIN_PASSWORD", ADMIN_PASSWORD)
                .env("LIUQING_VISIT_TASKS", "false");
            if let Some(step) = crash_at {
                cmd.env("LIUQING_TEST_CRASH_AT", step);
            }
            start(cmd)
        };
    let server = server_on(&config, dir.path(), None);
    let mut app = TestApp::attach(
        format!("http://127.0.0.1:{}", server.port),
        config.clone(),
        dir,
    );
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let staff = app
        .user(&admin, "staff-c", "station_staff", &[&t.station1])
        .await;
    let first = Phone::new(
        app.user(&admin, "coord-c", "coordinator", &[&t.community_a])
            .await,
    );
    let (_, person, _) = household_with_person(&app, &first, &t.community_a, 61).await;
    drop(server);
    let backend = config.backend().expect("backend");

    for step in ["merged", "written", "attachments", "retired"] {
        // A device of the coordinator's, retiring, on a server that crashes at `step`.
        let (config, dir) = app.stop().await;
        let mut server = server_on(&config, dir.path(), Some(step));
        app = TestApp::attach(format!("http://127.0.0.1:{}", server.port), config, dir);
        let phone = Phone::new(app.login_on("coord-c", PASSWORD, &new_id()).await);
        let r = app
            .patch(
                &format!("/v1/devices/{}", phone.s.device_id),
                &staff.access,
                json!({ "state": "retiring" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let commitment = new_id();
        let signature = format!("{:064x}", step.len());
        let batch = vec![
            phone.upsert(
                "household",
                &new_id(),
                None,
                json!({ "community_id": t.community_a, "address": format!("{step}号") }),
            ),
            phone.upsert(
                "commitment",
                &commitment,
                None,
                json!({ "person_id": person, "template_version": "2026-1",
                        "text_sha256": "d".repeat(64), "signature_sha256": signature,
                        "signed_at": "2026-11-20T03:00:00Z" }),
            ),
        ];
        let before = committed_records(&backend);
        let crashed = app
            .client
            .post(format!("{}/v1/sync/push", app.base))
            .bearer_auth(&phone.s.access)
            .json(&json!({ "schema_version": 1, "mutations": batch }))
            .send()
            .await;
        assert!(crashed.is_err(), "{step}: the phone never heard an answer");
        let status = server.child.wait().expect("the server stopped");
        assert!(!status.success(), "{step}: the server crashed ({status})");

        // None of it: no record, no seal, the device still retiring.
        assert_eq!(
            committed_records(&backend),
            before,
            "{step}: no record kept"
        );
        let mut conn = backend.connect().expect("connect");
        assert_eq!(
            liuqing_schema::seals::of(&mut conn, &commitment).expect("seal"),
            None,
            "{step}: no seal kept"
        );
        let state: String = devices::table
            .find(&phone.s.device_id)
            .select(devices::state)
            .first(&mut conn)
            .expect("device");
        assert_eq!(state, "retiring", "{step}: the device is not locked yet");
        drop(server);

        // The retry on a server that does not crash applies all of it, once.
        let (config, dir) = app.stop().await;
        let server = server_on(&config, dir.path(), None);
        app = TestApp::attach(format!("http://127.0.0.1:{}", server.port), config, dir);
        let retry = push(&app, &phone, batch.clone()).await;
        assert_eq!(retry.status, StatusCode::OK, "{step}: {}", retry.body);
        for result in retry.body["results"].as_array().expect("results") {
            assert_eq!(result["status"], "applied", "{step}: {result}");
        }
        // The commitment's text and signature were never uploaded: the phone is asked for both.
        assert_eq!(
            retry.body["missing_attachments"],
            json!(["d".repeat(64), signature])
        );
        assert_eq!(
            committed_records(&backend),
            before + 2,
            "{step}: exactly once"
        );
        let b = app
            .get(
                &format!("/v1/commitments/{commitment}/binding"),
                &staff.access,
            )
            .await;
        assert_eq!(b.status, StatusCode::OK, "{step}: {}", b.body);
        assert_eq!(b.body["intact"], true, "{step}: {}", b.body);
        push(&app, &phone, vec![])
            .await
            .problem(401, "device_revoked");
        drop(server);
    }
}

/// A server restarted while its address is still held (its crashed predecessor's socket
/// not yet released) waits for the address instead of failing to start.
#[test]
fn a_start_waits_for_an_address_still_in_use() {
    let dir = tempfile::tempdir().expect("dir");
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("hold a port");
    let port = holder.local_addr().expect("address").port();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        drop(holder);
    });
    let mut cmd = liuqing(dir.path());
    cmd.env("LIUQING_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let server = start_on(cmd, port);
    releaser.join().expect("released");
    assert!(
        server
            .startup
            .iter()
            .any(|l| l.contains("the address is in use; waiting for it")),
        "{:?}",
        server.startup
    );
    assert!(answers_http(server.port));
}
