//! The test harness: start the real server on a free port with its own database and data
//! folder, and talk to it over HTTP like a phone or a browser would.
//!
//! The backend is SQLite unless `LIUQING_TEST_DATABASE_URL` names a PostgreSQL server, in
//! which case every app gets a fresh database on it.

use std::net::TcpListener;
use std::path::PathBuf;

use actix_web::dev::ServerHandle;
use diesel::{Connection, RunQueryDsl};
use liuqing_api::{Application, Config};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const JWT_SECRET: &str = "a test signing key that is long enough to use";
pub const PASSWORD: &str = "a good long password";

/// A database for one test: a SQLite file in the data folder, or a fresh PostgreSQL database.
pub fn fresh_database_url(data_dir: &std::path::Path) -> String {
    match std::env::var("LIUQING_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("liuqing_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = diesel::pg::PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                panic!("LIUQING_TEST_DATABASE_URL is set but unreachable: {e}")
            });
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .expect("create test database");
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("URL with a database name");
            format!("{base}/{name}")
        }
        _ => data_dir.join("liuqing.db").display().to_string(),
    }
}

pub fn on_postgres() -> bool {
    std::env::var("LIUQING_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

/// The S3-protocol server the tests use, when `LIUQING_TEST_S3_ENDPOINT` names one.
pub fn s3_settings() -> Option<liuqing_api::blob::S3Settings> {
    let endpoint = std::env::var("LIUQING_TEST_S3_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())?;
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    Some(liuqing_api::blob::S3Settings {
        endpoint,
        region: env("LIUQING_TEST_S3_REGION", "us-east-1"),
        bucket: env("LIUQING_TEST_S3_BUCKET", "liuqing-test"),
        access_key: env("LIUQING_TEST_S3_ACCESS_KEY", "test"),
        secret_key: env("LIUQING_TEST_S3_SECRET_KEY", "test"),
        path_style: true,
        server_side_encryption: env("LIUQING_TEST_S3_SSE", "AES256"),
    })
}

/// The configuration every test app starts from: SQLite or PostgreSQL, local blobs or S3,
/// as the environment says.
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config {
        data_dir: data_dir.to_path_buf(),
        database_url: fresh_database_url(data_dir),
        database_pool_size: 4,
        admin_password: liuqing_api::config::Secret::new(ADMIN_PASSWORD),
        jwt_secret: liuqing_api::config::Secret::new(JWT_SECRET),
        workers: 1,
        ..Config::default()
    };
    if let Some(s3) = s3_settings() {
        config.blob_store = liuqing_api::config::BlobStoreKind::S3;
        config.s3_endpoint = s3.endpoint;
        config.s3_region = s3.region;
        config.s3_bucket = s3.bucket;
        config.s3_access_key = liuqing_api::config::Secret::new(s3.access_key);
        config.s3_secret_key = liuqing_api::config::Secret::new(s3.secret_key);
        config.s3_path_style = s3.path_style;
        config.s3_server_side_encryption = s3.server_side_encryption;
    }
    config
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub config: Config,
    /// `None` when the server is another process (the binary tests).
    handle: Option<ServerHandle>,
    pub data: TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts a problem document of this status and code, and returns it.
    pub fn problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "problem content type"
        );
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        for member in ["type", "title", "detail"] {
            assert!(
                self.body[member].is_string(),
                "missing `{member}`: {}",
                self.body
            );
        }
        assert!(self.headers.contains_key("x-request-id"));
        &self.body
    }
}

/// A logged-in session, as a phone holds it.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub device_id: String,
    pub user: Value,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(data.path());
        adjust(&mut config);
        TestApp::start(config, data).await
    }

    /// Starts a server on an existing configuration and data folder (for restarts).
    pub async fn start(config: Config, data: TempDir) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("free port");
        let app = Application::build(config.clone(), listener)
            .await
            .expect("server builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        actix_web::rt::spawn(app.run_until_stopped());
        TestApp {
            base,
            client: reqwest::Client::new(),
            config,
            handle: Some(handle),
            data,
        }
    }

    /// Talks to a server running in another process, on this configuration and folder.
    pub fn attach(base: String, config: Config, data: TempDir) -> TestApp {
        TestApp {
            base,
            client: reqwest::Client::new(),
            config,
            handle: None,
            data,
        }
    }

    /// Stops the server and hands back its configuration and data folder.
    pub async fn stop(self) -> (Config, TempDir) {
        if let Some(handle) = &self.handle {
            handle.stop(true).await;
        }
        (self.config, self.data)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let reply = reply(res).await;
        crate::conformance::check(
            &method,
            path,
            reply.status.as_u16(),
            reply
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            &reply.body,
        );
        reply
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PUT, path, Some(token), Some(body))
            .await
    }

    pub async fn login_raw(&self, username: &str, password: &str, device_id: &str) -> Reply {
        self.post(
            "/v1/auth/login",
            None,
            json!({
                "username": username,
                "password": password,
                "device": { "id": device_id, "name": "test phone", "platform": "android" },
            }),
        )
        .await
    }

    pub async fn login_on(&self, username: &str, password: &str, device_id: &str) -> Session {
        let r = self.login_raw(username, password, device_id).await;
        assert_eq!(r.status, StatusCode::OK, "login {username}: {}", r.body);
        Session {
            access: r.body["access_token"].as_str().expect("access").to_string(),
            refresh: r.body["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_string(),
            device_id: device_id.to_string(),
            user: r.body["user"].clone(),
        }
    }

    pub async fn login(&self, username: &str, password: &str) -> Session {
        self.login_on(username, password, &new_id()).await
    }

    pub async fn admin(&self) -> Session {
        self.login("admin", ADMIN_PASSWORD).await
    }

    pub async fn create_node(
        &self,
        admin: &Session,
        parent: Option<&str>,
        kind: &str,
        name: &str,
    ) -> String {
        let r = self
            .post(
                "/v1/admin/org/nodes",
                Some(&admin.access),
                json!({ "parent_id": parent, "kind": kind, "name": name }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }

    /// Creates a user bound to `nodes` and logs them in, past the first-login password change.
    pub async fn user(
        &self,
        admin: &Session,
        username: &str,
        role: &str,
        nodes: &[&str],
    ) -> Session {
        let r = self
            .post(
                "/v1/admin/users",
                Some(&admin.access),
                json!({
                    "username": username,
                    "display_name": username,
                    "password": "initial password 1",
                    "role": role,
                    "org_node_ids": nodes,
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let session = self.login(username, "initial password 1").await;
        let r = self
            .post(
                "/v1/auth/password",
                Some(&session.access),
                json!({ "current_password": "initial password 1", "new_password": PASSWORD }),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        session
    }
}

pub async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply {
        status,
        headers,
        body,
    }
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The org tree most tests use: one district, one street, two stations, three communities.
pub struct Tree {
    pub district: String,
    pub street: String,
    pub station1: String,
    pub station2: String,
    /// Under station 1.
    pub community_a: String,
    /// Under station 1.
    pub community_b: String,
    /// Under station 2.
    pub community_c: String,
}

pub async fn tree(app: &TestApp, admin: &Session) -> Tree {
    let district = app.create_node(admin, None, "district", "鼓楼区").await;
    let street = app
        .create_node(admin, Some(&district), "street", "华林街道")
        .await;
    let station1 = app
        .create_node(admin, Some(&street), "station", "华林社区服务站")
        .await;
    let station2 = app
        .create_node(admin, Some(&street), "station", "湖滨社区服务站")
        .await;
    let community_a = app
        .create_node(admin, Some(&station1), "community", "华林社区")
        .await;
    let community_b = app
        .create_node(admin, Some(&station1), "community", "屏山社区")
        .await;
    let community_c = app
        .create_node(admin, Some(&station2), "community", "湖滨社区")
        .await;
    Tree {
        district,
        street,
        station1,
        station2,
        community_a,
        community_b,
        community_c,
    }
}

/// Loads the demo district into the database of `config` with the server binary's `demo`
/// command, the way the README says (its users' password is `password`).
pub fn load_demo(
    config: &Config,
    data_dir: &std::path::Path,
    password: &str,
) -> std::process::Output {
    let mut cmd = std::process::Command::new(server_binary());
    for (name, _) in std::env::vars() {
        if name.starts_with("LIUQING_") || name == "DATABASE_URL" {
            cmd.env_remove(name);
        }
    }
    cmd.arg("demo")
        .env("LIUQING_DATA_DIR", data_dir)
        .env("LIUQING_DATABASE_URL", &config.database_url)
        .env("LIUQING_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("LIUQING_DEMO_PASSWORD", password)
        .env("LIUQING_LOG_LEVEL", "warn")
        .output()
        .expect("run demo")
}

/// A server on the demo district (its users' password is `password`).
pub async fn demo_app(password: &str) -> TestApp {
    let data = tempfile::tempdir().expect("dir");
    let config = test_config(data.path());
    let out = load_demo(&config, data.path(), password);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    TestApp::start(config, data).await
}

/// The server binary (the `liuqing` entry point, built by cargo for this test run).
pub fn server_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_liuqing-e2e-server"))
}
