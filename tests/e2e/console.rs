//! The console (工作台) over plain HTTP, as a browser without a script would use it and as
//! an attacker would: login and the session cookie, CSRF and origin checks, idle expiry,
//! logout, scope and roles, and escaping. The same flows in a real browser are in
//! `browser.rs` (`--features browser`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::attachments::{put_image, wait_for_derivatives};
use crate::helpers::*;
use crate::images::*;
use crate::sync::{household_with_person, pull_all, push_ok, world, Phone};

/// A cookie-keeping client that follows no redirect (each step is asserted).
pub struct Web<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        self.body[at..]
            .split('"')
            .next()
            .expect("value")
            .to_string()
    }

    /// The `Set-Cookie` header for `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
}

impl<'a> Web<'a> {
    pub fn new(app: &'a TestApp) -> Web<'a> {
        Web {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Mutex::default(),
        }
    }

    fn keep(&self, headers: &HeaderMap) {
        let mut jar = self.cookies.lock().expect("jar");
        for v in headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let pair = v.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if value.is_empty() || v.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_string(), value.to_string());
            }
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("jar").get(name).cloned()
    }

    pub fn set(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .expect("jar")
            .insert(name.to_string(), value.to_string());
    }

    fn header(&self) -> String {
        let jar = self.cookies.lock().expect("jar");
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let res = req
            .header("cookie", self.header())
            .send()
            .await
            .expect("sent");
        let status = res.status();
        let headers = res.headers().clone();
        self.keep(&headers);
        let body = res.text().await.expect("body");
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.app.base)))
            .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_from(path, form, None).await
    }

    pub async fn post_from(&self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Page {
        let mut req = self
            .client
            .post(format!("{}{path}", self.app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            );
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        self.send(req).await
    }

    /// Logs in through the form; returns the answer to the form.
    pub async fn login(&self, username: &str, password: &str) -> Page {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            "/console/login",
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// Logs in and expects to land on the home page.
    pub async fn signed_in(app: &'a TestApp, username: &str, password: &str) -> Web<'a> {
        let web = Web::new(app);
        let r = web.login(username, password).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location(), "/console/");
        web
    }
}

#[actix_web::test]
async fn pages_ask_for_a_login_and_keep_the_session_in_a_strict_cookie() {
    let w = world().await;
    let web = Web::new(&w.app);
    let r = web.get("/console/review?state=all").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location(),
        "/console/login?next=%2Fconsole%2Freview%3Fstate%3Dall"
    );

    let form = web.get("/console/login").await;
    assert_eq!(form.status, StatusCode::OK);
    let csp = form.headers["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(form.headers["x-frame-options"], "DENY");
    assert!(form.body.contains("lang=\"zh-CN\""));
    let login_cookie = form.set_cookie("lq_login").expect("login cookie");
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"));

    // A wrong password is the form again, with the reason, and no session.
    let csrf = form.csrf();
    let r = web
        .post(
            "/console/login",
            &[
                ("csrf", &csrf),
                ("username", "staff-1"),
                ("password", "wrong password 1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("用户名或密码错误"), "{}", r.body);
    assert!(r.set_cookie("lq_session").is_none());

    // The right one: a session cookie no script can read, sent only to the console, only
    // from its own pages; and back to where the login was asked for.
    let r = web
        .post(
            "/console/login",
            &[
                ("csrf", &csrf),
                ("username", "staff-1"),
                ("password", PASSWORD),
                ("next", "/console/review?state=all"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/console/review?state=all");
    let session = r.set_cookie("lq_session").expect("session cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(part), "{session}");
    }
    // No `Secure` over plain HTTP (the cookie would never come back); no lifetime: it
    // goes with the browser.
    assert!(
        !session.contains("Secure") && !session.contains("Max-Age"),
        "{session}"
    );
    let home = web.get("/console/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("首页") && home.body.contains("staff-1"));
    assert!(home.body.contains("平台工作人员"));
    // Every page renews the idle deadline.
    assert!(home.set_cookie("lq_session").is_some());
    // No inline script or style anywhere: the policy would block it.
    assert!(!home.body.contains("<script>") && !home.body.contains("style="));

    // The login is a session on a device of platform `web`, listed like a phone.
    let r = w.app.get("/v1/devices", &w.staff.access).await;
    let devices = r.body["items"].as_array().expect("devices");
    assert!(
        devices
            .iter()
            .any(|d| d["platform"] == "web" && d["name"] == "工作台（浏览器）"),
        "{devices:?}"
    );

    // The cookie is not an API token, and an API token is not a cookie.
    let cookie = web.cookie("lq_session").expect("cookie");
    w.app
        .get("/v1/me", &cookie)
        .await
        .problem(401, "invalid_token");
    let other = Web::new(&w.app);
    other.set("lq_session", &w.staff.access);
    let r = other.get("/console/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/console/login"));

    // `next` never leads off the console.
    let web2 = Web::new(&w.app);
    let form = web2.get("/console/login").await;
    let r = web2
        .post(
            "/console/login",
            &[
                ("csrf", &form.csrf()),
                ("username", "staff-1"),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/console/");
}

#[actix_web::test]
async fn forms_need_the_sessions_token_and_logout_ends_the_session() {
    let w = world().await;
    let web = Web::signed_in(&w.app, "staff-1", PASSWORD).await;
    let home = web.get("/console/").await;
    let csrf = home.csrf();

    // Without the token, or with another session's, the form is refused and nothing
    // happens: the session goes on.
    let r = web.post("/console/logout", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("表单已失效"), "{}", r.body);
    let other = Web::signed_in(&w.app, "coord-a1", PASSWORD).await;
    let theirs = other.get("/console/").await.csrf();
    assert_ne!(theirs, csrf);
    let r = web.post("/console/logout", &[("csrf", &theirs)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Posted from another site's page, even with the right token.
    let r = web
        .post_from(
            "/console/logout",
            &[("csrf", &csrf)],
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(web.get("/console/").await.status, StatusCode::OK);

    // A login form needs its own cookie's token.
    let stranger = Web::new(&w.app);
    let r = stranger
        .post(
            "/console/login",
            &[
                ("csrf", "0123456789abcdef0123456789abcdef"),
                ("username", "staff-1"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // A huge form, or something that is not a form, is refused with a page, not read.
    let huge = "x".repeat(100 * 1024);
    let r = web
        .post("/console/logout", &[("csrf", &csrf), ("pad", &huge)])
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.body.contains("提交的内容过大"));
    let r = web
        .send(
            web.client
                .post(format!("{}/console/logout", w.app.base))
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(web.get("/console/").await.status, StatusCode::OK);

    // Logout ends the session on the server: the old cookie, kept by an attacker, no
    // longer opens anything.
    let kept = web.cookie("lq_session").expect("cookie");
    let r = web.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/console/login?bye=1");
    assert!(r
        .set_cookie("lq_session")
        .expect("removal")
        .contains("Max-Age=0"));
    let thief = Web::new(&w.app);
    thief.set("lq_session", &kept);
    let r = thief.get("/console/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location().starts_with("/console/login"),
        "{}",
        r.location()
    );
    let r = web.get("/console/login?bye=1").await;
    assert!(r.body.contains("已安全退出"));
}

/// A console token signed with the server's key, for the session of `web`'s cookie, that
/// expired a minute ago (the browser kept an idle page open too long).
fn expired_twin(cookie: &str) -> String {
    use base64::Engine;
    let payload = cookie.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    let mut claims: serde_json::Value = serde_json::from_slice(&bytes).expect("claims");
    let now = chrono::Utc::now().timestamp();
    claims["iat"] = json!(now - 3600);
    claims["exp"] = json!(now - 60);
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("token")
}

#[actix_web::test]
async fn an_idle_or_day_long_session_must_log_in_again() {
    let w = world().await;
    let web = Web::signed_in(&w.app, "staff-1", PASSWORD).await;
    let cookie = web.cookie("lq_session").expect("cookie");
    // The same session, but past its idle deadline: to the login page, saying why.
    let idle = Web::new(&w.app);
    idle.set("lq_session", &expired_twin(&cookie));
    let r = idle.get("/console/review").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location(),
        "/console/login?next=%2Fconsole%2Freview&expired=1"
    );
    let r = idle.get("/console/login?expired=1").await;
    assert!(r.body.contains("登录已超时"));

    // A session older than `console_session_hours` ends however busy it was.
    let w2 = crate::sync::world_with(|c| c.console_session_hours = 1).await;
    let web = Web::signed_in(&w2.app, "staff-1", PASSWORD).await;
    assert_eq!(web.get("/console/").await.status, StatusCode::OK);
    age_console_sessions(&w2.app, 2);
    let r = web.get("/console/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().contains("expired=1"), "{}", r.location());
}

/// Moves every session's start `hours` into the past (the clock cannot be).
fn age_console_sessions(app: &TestApp, hours: i64) {
    use diesel::RunQueryDsl;
    let mut conn = app
        .config
        .backend()
        .expect("backend")
        .connect()
        .expect("connect");
    let micros = hours * 3_600_000_000;
    diesel::sql_query(format!(
        "UPDATE sessions SET created_at = created_at - {micros}"
    ))
    .execute(&mut conn)
    .expect("aged");
}

/// Evidence with its photo, pushed and uploaded by `phone` for person `p`.
pub async fn evidence_with_photo(
    app: &TestApp,
    phone: &Phone,
    p: &str,
    kind: &str,
    seed: u32,
) -> (String, String) {
    let photo = jpeg(800, 600, seed);
    let sha = sha256(&photo);
    let e = new_id();
    push_ok(
        app,
        phone,
        vec![phone.upsert(
            "evidence",
            &e,
            None,
            json!({ "person_id": p, "evidence_type": kind, "attachment_sha256": sha }),
        )],
    )
    .await;
    let r = put_image(app, &phone.s.access, &photo).await;
    assert!(r.status.is_success(), "{}", r.body);
    wait_for_derivatives(app, &phone.s.access, &sha).await;
    (e, sha)
}

#[actix_web::test]
async fn staff_review_in_the_console_and_the_phone_pulls_the_retake_task() {
    let w = world().await;
    let app = &w.app;
    let seed = uuid::Uuid::new_v4().as_u128() as u32;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 31).await;
    let (card, _) = evidence_with_photo(app, &w.a1, &p, "resident_id_card", seed).await;
    let (register, _) = evidence_with_photo(app, &w.a1, &p, "household_register", seed + 1).await;
    // One piece whose photo never arrived.
    let lost = new_id();
    push_ok(app, &w.a1, vec![w.a1.upsert("evidence", &lost, None,
        json!({ "person_id": p, "evidence_type": "employment_card", "attachment_sha256": sha256(b"never sent") }))]).await;

    let web = Web::signed_in(app, "staff-1", PASSWORD).await;
    let home = web.get("/console/").await;
    assert!(home.body.contains("待审核材料"));
    let list = web.get("/console/review").await;
    assert_eq!(list.status, StatusCode::OK);
    for id in [&card, &register, &lost] {
        assert!(list.body.contains(&format!("/console/review/{id}")), "{id}");
    }
    assert!(list.body.contains("居民身份证") && list.body.contains("张三"));

    // The piece: its photo, the person's other evidence, and what is still missing.
    let page = web.get(&format!("/console/review/{card}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("/review\""), "the large photo");
    assert!(page.body.contains("此人的其他材料") && page.body.contains("一次性告知"));
    let csrf = page.csrf();
    // Its photo comes through the console's session, and only for what is in scope.
    let sha = page
        .body
        .split("/console/photos/")
        .nth(1)
        .expect("photo")
        .split('/')
        .next()
        .expect("sha");
    let photo = web.get(&format!("/console/photos/{sha}/review")).await;
    assert_eq!(photo.status, StatusCode::OK);
    assert_eq!(photo.headers["content-type"], "image/jpeg");

    // Approve: the next pending piece opens at once.
    let r = web
        .post(
            &format!("/console/review/{card}"),
            &[("csrf", &csrf), ("decision", "approved")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().starts_with("/console/review/"));
    assert_ne!(r.location(), format!("/console/review/{card}"));
    // A photo that never arrived cannot be approved: the page says why.
    let r = web
        .post(
            &format!("/console/review/{lost}"),
            &[("csrf", &csrf), ("decision", "approved")],
        )
        .await;
    assert_eq!(
        r.location(),
        format!("/console/review/{lost}?error=attachment_missing")
    );
    let page = web.get(r.location()).await;
    assert!(page.body.contains("照片还没有从手机上传"));
    // A retake needs its reason.
    let r = web
        .post(
            &format!("/console/review/{register}"),
            &[("csrf", &csrf), ("decision", "retake"), ("reason", " ")],
        )
        .await;
    assert_eq!(
        r.location(),
        format!("/console/review/{register}?error=reason")
    );
    let r = web
        .post(
            &format!("/console/review/{register}"),
            &[
                ("csrf", &csrf),
                ("decision", "retake"),
                ("reason", "照片模糊，看不清户主页"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // The phone pulls the decisions and its task.
    let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
    let record = |id: &str| {
        changes
            .iter()
            .rev()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} pulled"))
            .clone()
    };
    assert_eq!(record(&card)["data"]["review_state"], "approved");
    assert_eq!(record(&register)["data"]["review_state"], "retake");
    let task = changes
        .iter()
        .find(|c| c["entity"] == "task" && c["data"]["kind"] == "retake_photo")
        .expect("a retake task");
    assert_eq!(task["data"]["assignee_id"], w.a1.s.user["id"]);
    assert_eq!(task["data"]["notes"], "照片模糊，看不清户主页");
}

#[actix_web::test]
async fn the_console_keeps_to_the_callers_scope_and_role() {
    let w = world().await;
    let app = &w.app;
    let seed = uuid::Uuid::new_v4().as_u128() as u32;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 41).await;
    let (card, sha) = evidence_with_photo(app, &w.a1, &p, "resident_id_card", seed).await;

    // Staff of the other station: the piece and its photo do not exist for them.
    app.user(&w.admin, "staff-2", "station_staff", &[&w.tree.station2])
        .await;
    let web = Web::signed_in(app, "staff-2", PASSWORD).await;
    let r = web.get(&format!("/console/review/{card}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("找不到"));
    let r = web.get(&format!("/console/photos/{sha}/review")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let csrf = web.get("/console/").await.csrf();
    let r = web
        .post(
            &format!("/console/review/{card}"),
            &[("csrf", &csrf), ("decision", "approved")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let list = web.get("/console/review?state=all").await;
    assert!(!list.body.contains(&card));

    // A coordinator does not review; the navigation does not offer it either.
    let coord = Web::signed_in(app, "coord-a1", PASSWORD).await;
    let home = coord.get("/console/").await;
    assert!(!home.body.contains("/console/review"));
    let r = coord.get("/console/review").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("无权访问"));

    // An admin runs the system and reads no case file, not even a photo by its hash.
    let admin = Web::signed_in(app, "admin", ADMIN_PASSWORD).await;
    let home = admin.get("/console/").await;
    assert!(home.body.contains("不查看任何人员档案"));
    assert!(!home.body.contains("待审核材料"));
    assert_eq!(
        admin.get("/console/review").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.get(&format!("/console/review/{card}")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin
            .get(&format!("/console/photos/{sha}/review"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn a_name_with_markup_is_shown_as_text() {
    let w = world().await;
    let app = &w.app;
    let seed = uuid::Uuid::new_v4().as_u128() as u32;
    let (h, p) = (new_id(), new_id());
    let name = "<img src=x onerror=alert(1)>";
    push_ok(
        app,
        &w.a1,
        vec![
            w.a1.upsert("household", &h, None, json!({ "community_id": w.tree.community_a, "address": "<b>华林路</b>" })),
            w.a1.upsert("person", &p, None, json!({ "household_id": h, "name": name, "id_number": crate::sync::id_number("19700101", 77) })),
        ],
    )
    .await;
    let (card, _) = evidence_with_photo(app, &w.a1, &p, "resident_id_card", seed).await;
    let web = Web::signed_in(app, "staff-1", PASSWORD).await;
    for path in [
        "/console/review".to_string(),
        format!("/console/review/{card}"),
    ] {
        let page = web.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{path}"
        );
        assert!(!page.body.contains("<img src=x"), "{path}");
    }
}

#[actix_web::test]
async fn a_one_time_password_is_changed_in_the_console_first() {
    let w = world().await;
    let r = w
        .app
        .post(
            "/v1/admin/users",
            Some(&w.admin.access),
            json!({ "username": "new-staff", "display_name": "新同事", "password": "initial password 1",
                    "role": "station_staff", "org_node_ids": [w.tree.station1] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let web = Web::signed_in(&w.app, "new-staff", "initial password 1").await;
    // Every page leads to the password form until it is changed.
    let r = web.get("/console/").await;
    assert_eq!(r.location(), "/console/password");
    let form = web.get("/console/password").await;
    assert!(form.body.contains("一次性密码"));
    let csrf = form.csrf();
    let r = web
        .post(
            "/console/password",
            &[
                ("csrf", &csrf),
                ("current_password", "initial password 1"),
                ("new_password", "a new long password"),
                ("confirm_password", "another one entirely"),
            ],
        )
        .await;
    assert!(r.body.contains("两次输入的新密码不一致"));
    let r = web
        .post(
            "/console/password",
            &[
                ("csrf", &csrf),
                ("current_password", "initial password 1"),
                ("new_password", "a new long password"),
                ("confirm_password", "a new long password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("密码已修改"));
    assert_eq!(web.get("/console/").await.status, StatusCode::OK);
    // The phone's API takes the new password too: one account.
    w.app.login("new-staff", "a new long password").await;
}

/// Two phones rename one person offline; the later name is kept and the other is a
/// conflict. Returns the person's id.
pub async fn renamed_twice(
    app: &TestApp,
    a1: &Phone,
    a2: &Phone,
    community: &str,
    seq: u32,
) -> String {
    let (_, p, v) = household_with_person(app, a1, community, seq).await;
    let early = a1.upsert("person", &p, Some(v), json!({ "name": "王小明" }));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let late = a2.upsert("person", &p, Some(v), json!({ "name": "王晓明" }));
    push_ok(app, a2, vec![late]).await;
    assert_eq!(push_ok(app, a1, vec![early]).await[0]["status"], "conflict");
    p
}

/// The person's name as `phone` has it after pulling everything.
pub async fn name_on(app: &TestApp, phone: &Phone, p: &str) -> Value {
    let (changes, _) = pull_all(app, &phone.s.access, None).await;
    changes
        .iter()
        .rev()
        .find(|c| c["id"] == p && c["entity"] == "person")
        .map(|c| c["data"]["name"].clone())
        .unwrap_or_default()
}

#[actix_web::test]
async fn staff_resolve_a_conflict_in_the_console_and_the_phones_converge() {
    let w = world().await;
    let app = &w.app;
    let p = renamed_twice(app, &w.a1, &w.a2, &w.tree.community_a, 51).await;

    let web = Web::signed_in(app, "staff-1", PASSWORD).await;
    let home = web.get("/console/").await;
    assert!(home.body.contains("href=\"/console/conflicts\""));
    let page = web.get("/console/conflicts").await;
    assert_eq!(page.status, StatusCode::OK);
    // Both values, with who wrote them and on which device.
    for text in [
        "王晓明",
        "王小明",
        "姓名",
        "coord-a1",
        "coord-a2",
        "test phone",
        "现在的值",
        "另一台手机的值",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    let action = page
        .body
        .split("action=\"/console/conflicts/")
        .nth(1)
        .expect("a form")
        .split('"')
        .next()
        .expect("id")
        .to_string();
    let csrf = page.csrf();
    // Neither is right: the station enters the name from the ID card.
    let r = web
        .post(
            &format!("/console/conflicts/{action}"),
            &[
                ("csrf", &csrf),
                ("resolution", "new_value"),
                ("value", "王晓明明"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/console/conflicts?done=1");
    let page = web.get(r.location()).await;
    assert!(page.body.contains("没有待处理的冲突"));
    // Twice is refused, with the reason.
    let r = web
        .post(
            &format!("/console/conflicts/{action}"),
            &[("csrf", &csrf), ("resolution", "keep_server")],
        )
        .await;
    assert_eq!(r.location(), "/console/conflicts?error=already_resolved");

    // Both phones pull the same name.
    assert_eq!(name_on(app, &w.a1, &p).await, "王晓明明");
    assert_eq!(name_on(app, &w.a2, &p).await, "王晓明明");

    // Another station's staff never see it, nor resolve it by its id.
    app.user(&w.admin, "staff-2", "station_staff", &[&w.tree.station2])
        .await;
    let other = Web::signed_in(app, "staff-2", PASSWORD).await;
    let csrf = other.get("/console/").await.csrf();
    let r = other
        .post(
            &format!("/console/conflicts/{action}"),
            &[("csrf", &csrf), ("resolution", "take_phone")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A coordinator has no conflict queue.
    let coord = Web::signed_in(app, "coord-a1", PASSWORD).await;
    assert_eq!(
        coord.get("/console/conflicts").await.status,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn staff_accept_a_coordinators_proposal_in_the_console() {
    let w = world().await;
    let app = &w.app;
    let (_, p, v) = household_with_person(app, &w.a1, &w.tree.community_a, 53).await;
    // `identity_verified` is the station's to set: the phone's value is a proposal.
    let r = push_ok(
        app,
        &w.a1,
        vec![w
            .a1
            .upsert("person", &p, Some(v), json!({ "identity_verified": true }))],
    )
    .await;
    assert_eq!(r[0]["status"], "conflict", "{r:?}");
    let web = Web::signed_in(app, "staff-1", PASSWORD).await;
    let page = web.get("/console/conflicts").await;
    assert!(page.body.contains("协理员的提议") && page.body.contains("身份已核验"));
    assert!(page.body.contains("接受提议"));
    let action = page
        .body
        .split("action=\"/console/conflicts/")
        .nth(1)
        .expect("a form")
        .split('"')
        .next()
        .expect("id")
        .to_string();
    let r = web
        .post(
            &format!("/console/conflicts/{action}"),
            &[("csrf", &page.csrf()), ("resolution", "take_phone")],
        )
        .await;
    assert_eq!(r.location(), "/console/conflicts?done=1");
    let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
    let person = changes.iter().rev().find(|c| c["id"] == p).expect("pulled");
    assert_eq!(person["data"]["identity_verified"], true);
}

#[actix_web::test]
async fn a_case_file_is_read_in_the_console_and_a_full_id_number_needs_a_reason() {
    let w = world().await;
    let app = &w.app;
    let (h, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 57).await;
    let full = crate::sync::id_number("19700101", 57);
    push_ok(
        app,
        &w.a1,
        vec![
            w.a1.upsert(
                "six_clears",
                &p,
                None,
                json!({ "basic.education": "senior_high", "needs.job_types": ["保洁"] }),
            ),
            w.a1.upsert(
                "visit",
                &new_id(),
                None,
                json!({ "household_id": h, "started_at": "2026-11-20T02:00:00Z",
                "ended_at": "2026-11-20T02:30:00Z", "outcome": "met", "persons_seen": [p],
                "latitude": 26.08, "longitude": 119.29, "notes": "本人在家" }),
            ),
        ],
    )
    .await;

    let web = Web::signed_in(app, "staff-1", PASSWORD).await;
    let list = web.get("/console/persons?name=%E5%BC%A0").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&format!("/console/persons/{p}")));
    // By household: the address, then its members.
    let households = web
        .get("/console/households?address=%E5%8D%8E%E6%9E%97")
        .await;
    assert!(households.body.contains("华林路1号"));
    let members = format!("/console/persons?household={h}");
    assert!(households.body.contains(&members));
    let page = web.get(&members).await;
    assert!(page.body.contains(&format!("/console/persons/{p}")));
    let page = web.get(&format!("/console/persons/{p}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "张三 的档案",
        "基本情况清",
        "援助需求清",
        "高中",
        "保洁",
        "不完整",
        "见到本人",
        "本人在家",
        "GPS 26.08000, 119.29000",
        "华林社区",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    // Masked, and not recoverable from the page.
    assert!(!page.body.contains(&full));
    assert!(page.body.contains("查看完整身份证号或手机号"));
    let csrf = page.csrf();
    let reveal = format!("/console/persons/{p}/reveal");
    let r = web
        .post(
            &reveal,
            &[("csrf", &csrf), ("field", "id_number"), ("reason", " ")],
        )
        .await;
    assert!(r.body.contains("请写明查看的原因") && !r.body.contains(&full));
    let r = web
        .post(
            &reveal,
            &[
                ("csrf", &csrf),
                ("field", "id_number"),
                ("reason", "核对就业创业证信息"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(&full) && r.body.contains("已记入访问日志"));
    // The next view is masked again.
    assert!(!web
        .get(&format!("/console/persons/{p}"))
        .await
        .body
        .contains(&full));
    // The reveal is in the access log with its reason.
    let sup = app
        .user(&w.admin, "sup-1", "supervisor", &[&w.tree.district])
        .await;
    let log = app
        .get("/v1/admin/access-log?action=reveal", &sup.access)
        .await;
    assert!(
        log.body.to_string().contains("核对就业创业证信息"),
        "{}",
        log.body
    );

    // A coordinator reads the file of their community, but may not reveal.
    let coord = Web::signed_in(app, "coord-a1", PASSWORD).await;
    let page = coord.get(&format!("/console/persons/{p}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("查看完整身份证号"));
    let r = coord
        .post(
            &reveal,
            &[
                ("csrf", &page.csrf()),
                ("field", "id_number"),
                ("reason", "想看看号码"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Another station's staff: no such person.
    app.user(&w.admin, "staff-2", "station_staff", &[&w.tree.station2])
        .await;
    let other = Web::signed_in(app, "staff-2", PASSWORD).await;
    assert_eq!(
        other.get(&format!("/console/persons/{p}")).await.status,
        StatusCode::NOT_FOUND
    );
    let list = other.get("/console/persons").await;
    assert!(!list.body.contains(&p));
}

/// The id of the first application form of a case file page.
fn application_of(page: &Page, p: &str) -> String {
    let marker = format!("action=\"/console/persons/{p}/applications/");
    page.body
        .split(&marker)
        .nth(1)
        .expect("an application form")
        .split('"')
        .next()
        .expect("id")
        .to_string()
}

#[actix_web::test]
async fn an_application_goes_from_intake_to_recognition_in_the_console() {
    let w = world().await;
    let app = &w.app;
    // Born 1970, male: 50 and over, an older worker by the guide.
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 59).await;
    let file = format!("/console/persons/{p}");
    let web = Web::signed_in(app, "staff-1", PASSWORD).await;
    let page = web.get(&file).await;
    assert!(page.body.contains("受理就业困难人员认定申请"));
    let csrf = page.csrf();

    // 受理.
    let r = web
        .post(
            &format!("{file}/applications"),
            &[("csrf", &csrf), ("category", "older_worker")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = web.get(r.location()).await;
    assert!(page.body.contains("已受理") && !page.body.contains("受理就业困难人员认定申请"));
    let rid = application_of(&page, &p);
    let step = format!("{file}/applications/{rid}");

    // 初审.
    let r = web
        .post(&step, &[("csrf", &csrf), ("action", "start_review")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Publicity needs the materials on file: refused, naming what is missing.
    let r = web
        .post(&step, &[("csrf", &csrf), ("action", "publicise")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body.contains("按照指南，这一步还不能办理") && r.body.contains("户口簿"),
        "{}",
        r.body
    );
    // The originals were seen at the window: passed with that reason, logged.
    let r = web
        .post(
            &step,
            &[
                ("csrf", &csrf),
                ("action", "publicise"),
                (
                    "override_reason",
                    "户口簿、身份证、就业创业证原件已在窗口核验",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = web.get(r.location()).await;
    assert!(page.body.contains("公示中") && page.body.contains("公示至"));
    // The station does not recognise: no such button, and a forged form is refused.
    assert!(!page.body.contains("data-action=\"recognise\""));
    let r = web
        .post(&step, &[("csrf", &csrf), ("action", "recognise")])
        .await;
    // A step the role may not take is a 403, as in the API; the page says why.
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("没有办理"));

    // The supervisor, once the publicity period is over.
    app.user(&w.admin, "sup-1", "supervisor", &[&w.tree.district])
        .await;
    let sup = Web::signed_in(app, "sup-1", PASSWORD).await;
    let page = sup.get(&file).await;
    assert!(page.body.contains("data-action=\"recognise\""));
    let sup_csrf = page.csrf();
    let r = sup
        .post(&step, &[("csrf", &sup_csrf), ("action", "recognise")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "not before the period ends");
    crate::casefile::publicity_passed(app, &rid);
    let r = sup
        .post(
            &step,
            &[
                ("csrf", &sup_csrf),
                ("action", "recognise"),
                ("reason", "公示无异议"),
                ("override_reason", "原件已核验"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = sup.get(r.location()).await;
    assert!(page.body.contains("认定：已办理"));
    // The history: every step, by whom, why.
    for text in [
        "开始初审",
        "初审通过，公示",
        "认定",
        "staff-1",
        "sup-1",
        "公示无异议",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
    let application = changes
        .iter()
        .rev()
        .find(|c| c["id"] == rid)
        .expect("pulled");
    assert_eq!(application["data"]["state"], "recognised");

    // Placed in a job: the station records the exit, and the follow-ups fall due.
    let page = web.get(&file).await;
    assert!(page.body.contains("办理退出"));
    let today = chrono::Utc::now().date_naive().to_string();
    let r = web
        .post(
            &format!("{file}/exit"),
            &[
                ("csrf", &csrf),
                ("reason", "employed"),
                ("exit_on", &today),
                ("notes", "在超市做理货员"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = web.get(r.location()).await;
    assert!(page.body.contains("退出：已办理") && page.body.contains("在超市做理货员"));
    assert!(page.body.contains("已退出") && !page.body.contains("办理退出"));
    assert!(
        page.body.contains("跟踪回访") || page.body.contains("回访"),
        "follow-ups are scheduled: {}",
        page.body
    );
}

#[actix_web::test]
async fn a_supervisor_drills_down_coverage_and_exports_a_ledger_in_the_console() {
    let w = world().await;
    let app = &w.app;
    let (h, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 71).await;
    let now = chrono::Utc::now();
    push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "visit",
            &new_id(),
            None,
            json!({ "household_id": h,
            "started_at": (now - chrono::Duration::minutes(30)).to_rfc3339(),
            "ended_at": (now - chrono::Duration::minutes(10)).to_rfc3339(),
            "outcome": "met", "persons_seen": [p] }),
        )],
    )
    .await;
    app.user(&w.admin, "sup-1", "supervisor", &[&w.tree.district])
        .await;
    let web = Web::signed_in(app, "sup-1", PASSWORD).await;
    let page = web.get("/console/supervision?group_by=station").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for text in [
        "华林社区服务站",
        "湖滨社区服务站",
        "合计",
        "走访覆盖",
        "近 12 个月走访覆盖",
        "<svg",
        "导出台账",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    // Drill down: the station's communities, then a community's coordinators.
    let link = format!(
        "/console/supervision?node={}&amp;group_by=community",
        w.tree.station1
    );
    assert!(page.body.contains(&link), "{link}");
    let page = web
        .get(&format!(
            "/console/supervision?node={}&group_by=community",
            w.tree.station1
        ))
        .await;
    assert!(
        page.body.contains("华林社区")
            && page.body.contains("屏山社区")
            && !page.body.contains("湖滨社区")
    );
    let page = web
        .get(&format!(
            "/console/supervision?node={}&group_by=coordinator",
            w.tree.community_a
        ))
        .await;
    assert!(page.body.contains("coord-a1"));

    // The ledger downloads, named in Chinese, and the export is logged with its reason.
    let csrf = page.csrf();
    let r = web
        .post(
            "/console/exports",
            &[
                ("csrf", &csrf),
                ("ledger", "visits"),
                ("format", "csv"),
                ("reason", " "),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("提交的内容有误"));
    let r = web
        .post(
            "/console/exports",
            &[
                ("csrf", &csrf),
                ("ledger", "visits"),
                ("format", "csv"),
                ("reason", "月度督导"),
                ("node", &w.tree.community_a),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let disposition = r.headers["content-disposition"].to_str().expect("header");
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("filename*=UTF-8''"),
        "{disposition}"
    );
    assert!(r.body.contains("华林路1号"), "{}", r.body);
    let sup = app.login("sup-1", PASSWORD).await;
    let log = app
        .get("/v1/admin/access-log?action=export", &sup.access)
        .await;
    assert!(log.body.to_string().contains("月度督导"));
    // Another station's community is not the staff's to count.
    let staff = Web::signed_in(app, "staff-1", PASSWORD).await;
    let r = staff
        .get(&format!("/console/supervision?node={}", w.tree.community_c))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn the_lists_show_what_the_api_lists_and_nothing_more() {
    let app = demo_app("demo password 1").await;
    let staff = app.login("demo-staff-1", "demo password 1").await;
    let web = Web::signed_in(&app, "demo-staff-1", "demo password 1").await;

    let page = web.get("/console/lists/publicity").await;
    assert_eq!(page.status, StatusCode::OK);
    let listed = app.get("/v1/publicity", &staff.access).await;
    let items = listed.body["items"].as_array().expect("items");
    assert!(!items.is_empty());
    for e in items {
        assert!(page.body.contains(e["name"].as_str().expect("name")));
    }
    // Posted publicly: no ID number, phone or address on it.
    assert!(!page.body.contains("身份证") && !page.body.contains("****"));
    assert!(page.body.contains("data-print"));

    let page = web.get("/console/lists/exit-candidates").await;
    let listed = app
        .get("/v1/exit-candidates?limit=200", &staff.access)
        .await;
    let items = listed.body["items"].as_array().expect("items");
    assert_eq!(
        page.body.matches("href=\"/console/persons/").count(),
        items.len()
    );
    for e in items {
        let link = format!("/console/persons/{}", e["id"].as_str().expect("id"));
        assert!(page.body.contains(&link), "{link}");
    }

    // The month's zero-employment households, each where it stands.
    let page = web.get("/console/lists/zero-employment").await;
    let listed = app.get("/v1/zero-employment", &staff.access).await;
    let items = listed.body["items"].as_array().expect("items");
    assert!(!items.is_empty(), "the demo has some");
    for e in items {
        assert!(page.body.contains(e["address"].as_str().expect("address")));
    }
    let open = listed.body["open"].as_u64().expect("open");
    assert!(page.body.contains(&format!("<strong>{open}</strong>")));

    // Possible duplicates: the API's groups, each person linked.
    let page = web.get("/console/lists/duplicates").await;
    let listed = app.get("/v1/duplicates", &staff.access).await;
    let groups = listed.body["items"].as_array().expect("items");
    assert!(!groups.is_empty(), "the demo has look-alikes");
    assert_eq!(
        page.body.matches("<section class=\"card\">").count(),
        groups.len()
    );
    for g in groups {
        for p in g["persons"].as_array().expect("persons") {
            let link = format!("/console/persons/{}", p["id"].as_str().expect("id"));
            assert!(page.body.contains(&link), "{link}");
        }
    }
}

#[actix_web::test]
async fn an_admin_manages_users_and_the_org_tree_and_staff_revoke_a_phone_in_the_console() {
    let w = world().await;
    let app = &w.app;
    let admin = Web::signed_in(app, "admin", ADMIN_PASSWORD).await;
    let page = admin.get("/console/admin").await;
    assert_eq!(page.location(), "/console/admin/users");
    let page = admin.get("/console/admin/users").await;
    assert!(page.body.contains("coord-a1") && page.body.contains("新建用户"));
    let csrf = page.csrf();
    // A new coordinator for community B.
    let form = [
        ("csrf", csrf.as_str()),
        ("username", "coord-b1"),
        ("display_name", "屏山协理员"),
        ("role", "coordinator"),
        ("org_node_ids", w.tree.community_b.as_str()),
        ("password", "first password 1"),
    ];
    let r = admin.post("/console/admin/users", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = admin.get(r.location()).await;
    assert!(page.body.contains("屏山协理员") && page.body.contains("待改密码"));
    // The same name again is refused, saying why.
    let r = admin.post("/console/admin/users", &form).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("这个用户名已经有人用了"));
    // A coordinator bound to a station is refused by the API's rule.
    let r = admin
        .post(
            "/console/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "coord-x"),
                ("display_name", "x"),
                ("role", "coordinator"),
                ("org_node_ids", &w.tree.station1),
                ("password", "first password 1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("communities only"));
    let user = app.login("coord-b1", "first password 1").await;
    let uid = user.user["id"].as_str().expect("id").to_string();
    assert_eq!(user.user["must_change_password"], true);

    // A reset shows a one-time password once; the old one no longer works.
    let r = admin
        .post(
            &format!("/console/admin/users/{uid}/password-reset"),
            &[("csrf", &csrf)],
        )
        .await;
    let temporary = r
        .body
        .split("<code>")
        .nth(1)
        .expect("shown")
        .split("</code>")
        .next()
        .expect("code")
        .to_string();
    assert!(
        app.login_raw("coord-b1", "first password 1", &new_id())
            .await
            .status
            == StatusCode::UNAUTHORIZED
    );
    app.login("coord-b1", &temporary).await;
    // Disabled: no login at all.
    let r = admin
        .post(
            &format!("/console/admin/users/{uid}"),
            &[("csrf", &csrf), ("disabled", "true")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.login_raw("coord-b1", &temporary, &new_id())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Role and bindings change together: coord-b1 becomes station staff of station 1.
    let page = admin.get(&format!("/console/admin/users/{uid}/edit")).await;
    assert!(page.body.contains("角色与范围") && page.body.contains("selected"));
    let r = admin
        .post(
            &format!("/console/admin/users/{uid}/edit"),
            &[
                ("csrf", &csrf),
                ("role", "coordinator"),
                ("org_node_ids", &w.tree.station1),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("communities only"));
    let r = admin
        .post(
            &format!("/console/admin/users/{uid}/edit"),
            &[
                ("csrf", &csrf),
                ("role", "station_staff"),
                ("org_node_ids", &w.tree.station1),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app
        .get(&format!("/v1/admin/users/{uid}"), &w.admin.access)
        .await;
    assert_eq!(r.body["role"], "station_staff");
    assert_eq!(r.body["org_node_ids"], json!([w.tree.station1]));

    // The org tree grows a community under station 2.
    let page = admin.get("/console/admin/org").await;
    assert!(page.body.contains("湖滨社区服务站"));
    let r = admin
        .post(
            "/console/admin/org",
            &[
                ("csrf", &csrf),
                ("parent_id", &w.tree.station2),
                ("kind", "community"),
                ("name", "西湖社区"),
            ],
        )
        .await;
    assert!(r.body.contains("已新建：西湖社区"), "{}", r.body);
    let r = admin
        .post(
            "/console/admin/org",
            &[
                ("csrf", &csrf),
                ("parent_id", &w.tree.station2),
                ("kind", "street"),
                ("name", "错层"),
            ],
        )
        .await;
    assert!(r.body.contains("没有完成"));

    // Station staff revoke a lost phone; its token stops working at once.
    let staff = Web::signed_in(app, "staff-1", PASSWORD).await;
    let page = staff.get("/console/admin/devices").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("coord-a1") && !page.body.contains("新建用户"));
    let device = &w.a1.s.device_id;
    let r = staff
        .post(
            &format!("/console/admin/devices/{device}"),
            &[
                ("csrf", &page.csrf()),
                ("state", "revoked"),
                ("reason", "手机丢失"),
            ],
        )
        .await;
    assert!(r.body.contains("已吊销"), "{}", r.body);
    app.get("/v1/me", &w.a1.s.access)
        .await
        .problem(401, "device_revoked");
    // Users and the org tree are the admin's alone.
    assert_eq!(
        staff.get("/console/admin/users").await.status,
        StatusCode::FORBIDDEN
    );
    let coord = Web::signed_in(app, "coord-a2", PASSWORD).await;
    assert_eq!(
        coord.get("/console/admin").await.status,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn flagged_visits_are_listed_with_their_reasons() {
    use chrono::Datelike;
    let app = demo_app("demo password 1").await;
    let sup = app.login("demo-supervisor", "demo password 1").await;
    let first = chrono::Utc::now().date_naive().with_day(1).expect("day 1");
    let last_month_end = first - chrono::Duration::days(1);
    let last_month_start = last_month_end.with_day(1).expect("day 1");
    let listed = app
        .get(
            &format!(
                "/v1/reports/coverage/flags?from={last_month_start}&to={last_month_end}&limit=100"
            ),
            &sup.access,
        )
        .await;
    let items = listed.body["items"].as_array().expect("items").clone();
    assert!(!items.is_empty(), "the demo has flagged visits");
    let web = Web::signed_in(&app, "demo-supervisor", "demo password 1").await;
    let month = last_month_start.format("%Y-%m").to_string();
    let page = web
        .get(&format!("/console/supervision/flags?month={month}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.body.matches("<tr><td>").count(),
        items.len(),
        "{}",
        page.body
    );
    for word in ["定位偏远", "时间过短", "同时多处"] {
        let code = match word {
            "定位偏远" => "far",
            "时间过短" => "short",
            _ => "simultaneous",
        };
        let any = items.iter().any(|i| {
            i["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == code))
        });
        assert_eq!(page.body.contains(word), any, "{word}");
    }

    // The cases report: the API's total, figure by figure.
    let api = app
        .get("/v1/reports/cases?group_by=street", &sup.access)
        .await;
    let t = &api.body["total"];
    let page = web.get("/console/supervision/cases?group_by=street").await;
    assert_eq!(page.status, StatusCode::OK);
    let tiers = format!(
        "{} / {} / {} / {}",
        t["recognised_persons"]["I"],
        t["recognised_persons"]["II"],
        t["recognised_persons"]["III"],
        t["recognised_persons"]["none"]
    );
    let obligations = format!(
        "{} / {} / {}",
        t["obligations"]["done"], t["obligations"]["on_track"], t["obligations"]["overdue"]
    );
    assert!(page.body.contains(&tiers), "{tiers}");
    assert!(page.body.contains(&obligations), "{obligations}");
    for street in api.body["rows"].as_array().expect("rows") {
        assert!(page
            .body
            .contains(street["group"]["name"].as_str().expect("name")));
    }
}

#[actix_web::test]
async fn the_case_file_checks_a_commitments_binding_and_a_full_number_is_found_by_a_posted_lookup()
{
    use diesel::prelude::*;
    let w = world().await;
    let app = &w.app;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 92).await;
    let full = crate::sync::id_number("19700101", 92);
    let sig = signature_png(300, 120);
    let sig_sha = sha256(&sig);
    let c = new_id();
    push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "commitment",
            &c,
            None,
            json!({ "person_id": p, "template_version": "2026-1", "text_sha256": "d".repeat(64),
                    "signature_sha256": sig_sha, "signed_at": "2026-11-20T03:00:00Z", "place": "华林路1号" }),
        )],
    )
    .await;
    let file = format!("/console/persons/{p}");
    let web = Web::signed_in(app, "staff-1", PASSWORD).await;
    // Signed, but the signature image has not arrived yet.
    let page = web.get(&file).await;
    assert!(
        page.body.contains("签署后未被改动，签名图片尚未收到"),
        "{}",
        page.body
    );
    let res = app
        .client
        .put(format!("{}/v1/attachments/{sig_sha}", app.base))
        .bearer_auth(&w.a1.s.access)
        .body(sig)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(web
        .get(&file)
        .await
        .body
        .contains("签署后未被改动，签名已收到"));
    // Changed behind the server's back: the page says so.
    let backend = app.config.backend().expect("backend");
    let mut conn = backend.connect().expect("conn");
    use liuqing_schema::tables::records;
    let data: String = records::table
        .filter(records::id.eq(&c))
        .select(records::data)
        .first(&mut conn)
        .expect("record");
    diesel::update(records::table.filter(records::id.eq(&c)))
        .set(records::data.eq(data.replace("2026-11-20T03:00:00", "2026-11-21T03:00:00")))
        .execute(&mut conn)
        .expect("forge");
    assert!(web
        .get(&file)
        .await
        .body
        .contains("签署后内容被改动过，请核实"));
    // A coordinator's page has no binding check (the API refuses them the check too).
    let coord = Web::signed_in(app, "coord-a1", PASSWORD).await;
    let page = coord.get(&file).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("绑定校验"));

    // The exact lookup is a posted form: a full ID number finds the person, a mobile
    // number too; neither is put in an address.
    let list = web.get("/console/persons").await;
    assert!(list.body.contains("action=\"/console/persons/lookup\""));
    let csrf = list.csrf();
    let r = web
        .post(
            "/console/persons/lookup",
            &[("csrf", &csrf), ("number", &full)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains(&file) && r.body.contains("找到 1 人"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(&full), "the number is not echoed back");
    let r = web
        .post(
            "/console/persons/lookup",
            &[("csrf", &csrf), ("number", "138 0000 1234")],
        )
        .await;
    assert!(r.body.contains(&file) && r.body.contains("按手机号精确查找"));
    // A malformed number is named, not a 500; a form without its token is refused.
    let r = web
        .post(
            "/console/persons/lookup",
            &[("csrf", &csrf), ("number", "12345")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("身份证号格式不对"), "{}", r.body);
    let r = web
        .post("/console/persons/lookup", &[("number", &full)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Another station's staff: the same number finds no one there.
    app.user(&w.admin, "staff-2", "station_staff", &[&w.tree.station2])
        .await;
    let other = Web::signed_in(app, "staff-2", PASSWORD).await;
    let csrf2 = other.get("/console/persons").await.csrf();
    let r = other
        .post(
            "/console/persons/lookup",
            &[("csrf", &csrf2), ("number", &full)],
        )
        .await;
    assert!(
        r.body.contains("找到 0 人") && !r.body.contains(&p),
        "{}",
        r.body
    );
    // Every lookup, hit or miss, is in the access log.
    let sup = app
        .user(&w.admin, "sup-1", "supervisor", &[&w.tree.district])
        .await;
    let log = app
        .get("/v1/admin/access-log?action=lookup_id_number", &sup.access)
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let entries = log.body["items"].as_array().expect("items").len();
    assert!(entries >= 2, "{}", log.body);

    // The supervisor's trend draws a line per community under the total, with a legend.
    let sup_web = Web::signed_in(app, "sup-1", PASSWORD).await;
    let page = sup_web.get("/console/supervision?group_by=community").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("class=\"legend\""), "{}", page.body);
    for name in ["合计", "华林社区"] {
        assert!(page.body.contains(name), "{name}");
    }
    assert!(page.body.contains("series s1"));
    // The month is chosen from a list written in Chinese.
    assert!(page.body.contains("<select name=\"month\">"));
    assert!(page.body.contains("年12月</option>") || page.body.contains("月</option>"));
}
