//! The console in a real browser: Debian's Chromium, headless, driven through chromedriver
//! (WebDriver) by fantoccini, against the real server. Built with `--features browser`
//! (it needs `/usr/bin/chromium` and `/usr/bin/chromedriver`, which `.ci/run` installs);
//! each test saves a screenshot of its last page to `target/console-screenshots/`
//! (`LIUQING_SCREENSHOTS` names another folder).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Datelike;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::console::{evidence_with_photo, name_on, renamed_twice};
use crate::helpers::*;
use crate::sync::{household_with_person, pull_all, push_ok, world, Phone};

const DEMO_PASSWORD: &str = "demo password 1";

/// A headless Chromium of its own (fresh profile), through a chromedriver of its own.
struct Browser {
    client: Client,
    driver: Child,
    base: String,
    _profile: tempfile::TempDir,
    /// Where the browser saves what it downloads.
    downloads: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn screenshots() -> PathBuf {
    std::env::var_os("LIUQING_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots")
        })
}

impl Browser {
    async fn start(app: &TestApp) -> Browser {
        let port = free_port();
        let driver_path = std::env::var("LIUQING_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("start {driver_path} (apt-get install chromium-driver): {e}")
            });
        let profile = tempfile::tempdir().expect("profile");
        let chromium =
            std::env::var("LIUQING_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        // The flags this machine needs: no sandbox as root, and no background traffic to
        // hosts a closed network refuses.
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--lang=zh-CN".into(),
            "--window-size=1366,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let downloads = tempfile::tempdir().expect("downloads");
        let prefs = json!({
            "download.default_directory": downloads.path(),
            "download.prompt_for_download": false,
        });
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args, "prefs": prefs }),
        );
        let mut client = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        Browser {
            client: client.expect("chromedriver and chromium started"),
            driver,
            base: app.base.clone(),
            _profile: profile,
            downloads,
        }
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigate");
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// What the page shows (the body's rendered text), read in one script so a page that
    /// is just being replaced cannot leave a stale element between finding and reading.
    async fn text(&self) -> String {
        for _ in 0..50 {
            if let Ok(Value::String(text)) = self
                .client
                .execute(
                    "return document.body ? document.body.innerText : null;",
                    vec![],
                )
                .await
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page has no body");
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Presses each key of `keys` on whatever has the focus, as a person at the keyboard
    /// would (WebDriver key actions: a real keydown and keyup each).
    async fn press(&self, keys: &str) {
        let mut actions = KeyActions::new("keyboard".into());
        for k in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value: k })
                .then(KeyAction::Up { value: k });
        }
        self.client
            .perform_actions(actions)
            .await
            .unwrap_or_else(|e| panic!("press {keys:?}: {e}"));
    }

    /// Presses Tab until the focused element matches `css`; returns how many it took.
    async fn tab_to(&self, css: &str) -> usize {
        for n in 1..=80 {
            self.press(&char::from(Key::Tab).to_string()).await;
            let hit = self
                .script(&format!(
                    "return document.activeElement.matches({});",
                    json!(css)
                ))
                .await;
            if hit == json!(true) {
                return n;
            }
        }
        panic!("Tab never reached {css}");
    }

    async fn focused_id(&self) -> Value {
        self.script("return document.activeElement.id;").await
    }

    async fn script(&self, js: &str) -> Value {
        self.client.execute(js, vec![]).await.expect("script")
    }

    async fn login(&self, username: &str, password: &str) {
        self.goto("/console/login").await;
        self.fill("input[name=username]", username).await;
        self.fill("input[name=password]", password).await;
        self.click("main.login button[type=submit]").await;
        self.wait_for_path("/console/").await;
    }

    async fn wait_for_path(&self, prefix: &str) {
        for _ in 0..100 {
            if self.path().await.starts_with(prefix) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never reached {prefix}; at {}", self.path().await);
    }

    /// No dialog was opened by anything on the page.
    async fn no_dialog(&self) {
        assert!(
            self.client.get_alert_text().await.is_err(),
            "a dialog is open"
        );
    }

    /// The files downloaded so far (whole ones: Chromium writes `.crdownload` until done).
    async fn downloaded(&self, wait_for: usize) -> Vec<PathBuf> {
        for _ in 0..200 {
            let files: Vec<PathBuf> = std::fs::read_dir(self.downloads.path())
                .expect("downloads")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_none_or(|x| x != "crdownload"))
                // (and its hidden temporary files)
                .filter(|p| {
                    !p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.'))
                })
                .collect();
            if files.len() >= wait_for {
                return files;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no download arrived");
    }

    /// Saves the page as `<name>.png` for a person to look at.
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshots();
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("saved");
    }

    async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A phone of a demo coordinator.
async fn demo_phone(app: &TestApp, username: &str) -> Phone {
    Phone::new(app.login(username, DEMO_PASSWORD).await)
}

#[actix_web::test]
async fn staff_approve_one_photo_and_ask_for_a_retake_of_another() {
    let app = demo_app(DEMO_PASSWORD).await;
    let phone = demo_phone(&app, "demo-coord-1").await;
    let community = phone.s.user["org_node_ids"][0]
        .as_str()
        .expect("community")
        .to_string();
    let (_, p, _) = household_with_person(&app, &phone, &community, 61).await;
    let seed = uuid::Uuid::new_v4().as_u128() as u32;
    let (card, _) = evidence_with_photo(&app, &phone, &p, "resident_id_card", seed).await;
    let (register, _) = evidence_with_photo(&app, &phone, &p, "household_register", seed + 1).await;

    let b = Browser::start(&app).await;
    b.login("demo-staff-1", DEMO_PASSWORD).await;
    assert!(b.text().await.contains("待审核材料"));
    b.click("nav.sections a[href='/console/review']").await;
    b.wait_for_path("/console/review").await;
    b.click(&format!("a[href='/console/review/{card}']")).await;
    b.wait_for_path(&format!("/console/review/{card}")).await;
    // The photo is shown (loaded under the page's policy), with the person's other piece.
    let loaded = b
        .script("const i = document.getElementById('photo'); return i && i.complete && i.naturalWidth > 0;")
        .await;
    assert_eq!(loaded, json!(true));
    assert!(b.text().await.contains("此人的其他材料"));
    // Rotate it, by the button and by the keyboard.
    b.click("button[data-photo=rotate-right]").await;
    let rotated = b
        .script("return document.querySelector('figure.photo').getAttribute('data-rotate');")
        .await;
    assert_eq!(rotated, json!("90"));

    // Approve: the next piece opens at once.
    b.click("#approve").await;
    for _ in 0..100 {
        if b.path().await != format!("/console/review/{card}") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Open the register, and ask for a retake with a reason.
    b.goto(&format!("/console/review/{register}")).await;
    b.fill("#reason", "照片反光，看不清户主页，请重拍").await;
    b.click("button[value=retake]").await;
    b.wait_for_path("/console/review").await;
    b.goto(&format!("/console/review/{register}")).await;
    let text = b.text().await;
    assert!(
        text.contains("待重拍") && text.contains("照片反光"),
        "{text}"
    );
    b.screenshot("review-retake").await;
    b.close().await;

    // The phone pulls the decisions and the task.
    let (changes, _) = pull_all(&app, &phone.s.access, None).await;
    let last = |id: &str| {
        changes
            .iter()
            .rev()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(last(&card)["data"]["review_state"], "approved");
    assert_eq!(last(&register)["data"]["review_state"], "retake");
    assert!(changes.iter().any(|c| c["entity"] == "task"
        && c["data"]["kind"] == "retake_photo"
        && c["data"]["notes"] == "照片反光，看不清户主页，请重拍"));
}

#[actix_web::test]
async fn markup_in_a_name_is_text_a_form_without_its_token_is_refused_and_logout_ends_the_session()
{
    let w = world().await;
    let app = &w.app;
    let (h, p) = (new_id(), new_id());
    push_ok(
        app,
        &w.a1,
        vec![
            w.a1.upsert(
                "household",
                &h,
                None,
                json!({ "community_id": w.tree.community_a, "address": "华林路3号" }),
            ),
            w.a1.upsert(
                "person",
                &p,
                None,
                json!({ "household_id": h, "name": "<img src=x onerror=alert(1)>",
                "id_number": crate::sync::id_number("19700101", 79) }),
            ),
        ],
    )
    .await;
    let seed = uuid::Uuid::new_v4().as_u128() as u32;
    let (card, _) = evidence_with_photo(app, &w.a1, &p, "resident_id_card", seed).await;

    let b = Browser::start(app).await;
    b.login("staff-1", PASSWORD).await;
    for path in [
        "/console/review".to_string(),
        format!("/console/review/{card}"),
    ] {
        b.goto(&path).await;
        b.no_dialog().await;
        assert!(
            b.text().await.contains("<img src=x onerror=alert(1)>"),
            "{path}"
        );
        // Nothing asked for the image the name names.
        let asked = b
            .script("return performance.getEntriesByType('resource').map(e => e.name);")
            .await;
        let asked: Vec<&str> = asked
            .as_array()
            .expect("list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(!asked.iter().any(|u| u.ends_with("/x")), "{asked:?}");
    }

    // A form whose token was taken out is refused, and the session goes on.
    b.script("document.querySelector('form[action=\"/console/logout\"] input[name=csrf]').remove(); return null;")
        .await;
    b.click("form[action='/console/logout'] button").await;
    for _ in 0..100 {
        if b.text().await.contains("表单已失效") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(b.text().await.contains("表单已失效"));
    b.goto("/console/").await;
    assert_eq!(b.path().await, "/console/");

    // Logout ends it: the console asks for the password again.
    b.click("form[action='/console/logout'] button").await;
    b.wait_for_path("/console/login").await;
    assert!(b.text().await.contains("已安全退出"));
    b.goto("/console/review").await;
    b.wait_for_path("/console/login").await;
    b.screenshot("logged-out").await;
    b.close().await;
}

#[actix_web::test]
async fn a_coordinator_sees_only_their_community_and_an_admin_no_case_file() {
    let app = demo_app(DEMO_PASSWORD).await;
    let b = Browser::start(&app).await;
    // The coordinator's counts are their community's: the households due a visit there.
    b.login("demo-coord-3", DEMO_PASSWORD).await;
    let text = b.text().await;
    assert!(
        text.contains("应走访家庭") && !text.contains("材料审核"),
        "{text}"
    );
    let coordinator = app.login("demo-coord-3", DEMO_PASSWORD).await;
    let due = app
        .get("/v1/reports/coverage/due?limit=200", &coordinator.access)
        .await;
    let n = due.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", due.body))
        .len();
    assert!(due.body["next_cursor"].is_null(), "one page holds them all");
    let shown = b
        .script("return [...document.querySelectorAll('.tile')].find(t => t.textContent.includes('应走访家庭')).querySelector('.n').textContent;")
        .await;
    assert_eq!(shown, json!(n.to_string()));
    b.screenshot("home-coordinator").await;
    b.goto("/console/review").await;
    assert!(b.text().await.contains("无权访问"));

    // A new browser for the admin (another user on the same desktop would log out first).
    b.close().await;
    let b = Browser::start(&app).await;
    b.login("demo-admin", DEMO_PASSWORD).await;
    assert!(b.text().await.contains("不查看任何人员档案"));
    b.goto("/console/review").await;
    assert!(b.text().await.contains("无权访问"));
    b.screenshot("admin-no-case-files").await;
    // What an admin does instead.
    b.goto("/console/admin/users").await;
    let text = b.text().await;
    assert!(
        text.contains("demo-coord-1") && text.contains("新建用户"),
        "{text}"
    );
    b.screenshot("admin-users").await;
    b.close().await;
}

#[actix_web::test]
async fn a_conflict_between_two_phones_is_resolved_and_the_phones_converge() {
    let app = demo_app(DEMO_PASSWORD).await;
    // demo-coord-1 and demo-coord-2 share 华林社区.
    let a1 = demo_phone(&app, "demo-coord-1").await;
    let a2 = demo_phone(&app, "demo-coord-2").await;
    let community = a1.s.user["org_node_ids"][0]
        .as_str()
        .expect("community")
        .to_string();
    let p = renamed_twice(&app, &a1, &a2, &community, 63).await;

    let b = Browser::start(&app).await;
    b.login("demo-staff-1", DEMO_PASSWORD).await;
    b.click("nav.sections a[href='/console/conflicts']").await;
    b.wait_for_path("/console/conflicts").await;
    let text = b.text().await;
    assert!(text.contains("王晓明") && text.contains("王小明"), "{text}");
    assert!(
        text.contains("协理员1") && text.contains("协理员2"),
        "{text}"
    );
    b.screenshot("conflicts").await;
    // The earlier name was the right one.
    b.click("article.conflict form input[value=take_phone] ~ button")
        .await;
    b.wait_for_path("/console/conflicts?done=1").await;
    assert!(b.text().await.contains("没有待处理的冲突"));
    b.close().await;
    assert_eq!(name_on(&app, &a1, &p).await, "王小明");
    assert_eq!(name_on(&app, &a2, &p).await, "王小明");
}

#[actix_web::test]
async fn staff_find_a_recognised_person_and_read_the_case_file() {
    let app = demo_app(DEMO_PASSWORD).await;
    let b = Browser::start(&app).await;
    b.login("demo-staff-1", DEMO_PASSWORD).await;
    b.click("nav.sections a[href='/console/persons']").await;
    b.wait_for_path("/console/persons").await;
    // Filter by the form, as a person would.
    b.script("document.querySelector('select[name=status]').value = 'recognised'; return null;")
        .await;
    b.click("form.search button[type=submit]").await;
    b.wait_for_path("/console/persons?").await;
    assert!(b.text().await.contains("已认定"));
    b.screenshot("persons").await;
    b.click("table.list tbody tr:first-child td:first-child a")
        .await;
    for _ in 0..100 {
        if b.text().await.contains("的档案") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = b.text().await;
    for part in [
        "基本信息",
        "六清",
        "基本情况清",
        "走访记录",
        "援助等级与服务进度",
        "认定申请",
        "已认定",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    b.screenshot("case-file").await;
    // On a station's tablet (portrait): one column, nothing cut off.
    b.client.set_window_size(820, 1180).await.expect("resize");
    let overflow = b
        .script(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth;",
        )
        .await;
    assert_eq!(overflow, json!(false), "no sideways scrolling on a tablet");
    b.screenshot("case-file-tablet").await;
    b.close().await;
}

#[actix_web::test]
async fn an_application_goes_to_publicity_in_the_console_and_the_supervisor_recognises_it() {
    let app = demo_app(DEMO_PASSWORD).await;
    let staff = app.login("demo-staff-1", DEMO_PASSWORD).await;
    let r = app
        .get("/v1/persons?status=registered&limit=1", &staff.access)
        .await;
    let p = r.body["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a registered person: {}", r.body))
        .to_string();
    let file = format!("/console/persons/{p}");

    let b = Browser::start(&app).await;
    b.login("demo-staff-1", DEMO_PASSWORD).await;
    b.goto(&file).await;
    // 受理, with the categories the six clears recorded (one at least).
    b.click("details.apply summary").await;
    b.script("const boxes = [...document.querySelectorAll('details.apply input[name=category]')]; if (!boxes.some(x => x.checked)) boxes[0].checked = true; return null;")
        .await;
    b.click("details.apply button[type=submit]").await;
    b.wait_for_path(&format!("{file}?done=received")).await;
    // 初审.
    b.click("button[data-action=start_review]").await;
    b.wait_for_path(&format!("{file}?done=start_review")).await;
    // 公示: the station saw the originals at its window.
    b.click("form:has(button[data-action=publicise]) details summary")
        .await;
    b.fill(
        "form:has(button[data-action=publicise]) input[name=override_reason]",
        "户口簿、身份证、就业创业证原件已在窗口核验",
    )
    .await;
    b.click("button[data-action=publicise]").await;
    b.wait_for_path(&format!("{file}?done=publicise")).await;
    let text = b.text().await;
    assert!(text.contains("公示中") && text.contains("公示至"), "{text}");
    b.close().await;

    // After the publicity period (moved into the past: a test cannot wait for it).
    let rid = app
        .get(&format!("/v1/persons/{p}"), &staff.access)
        .await
        .body["recognitions"]
        .as_array()
        .and_then(|rs| rs.last())
        .and_then(|r| r["id"].as_str())
        .expect("the application")
        .to_string();
    crate::casefile::publicity_passed(&app, &rid);
    let b = Browser::start(&app).await;
    b.login("demo-supervisor", DEMO_PASSWORD).await;
    b.goto(&file).await;
    b.fill(
        "form:has(button[data-action=recognise]) input[name=reason]",
        "公示期满无异议",
    )
    .await;
    b.click("form:has(button[data-action=recognise]) details summary")
        .await;
    b.fill(
        "form:has(button[data-action=recognise]) input[name=override_reason]",
        "材料原件已核验",
    )
    .await;
    b.click("button[data-action=recognise]").await;
    b.wait_for_path(&format!("{file}?done=recognise")).await;
    let text = b.text().await;
    for part in [
        "已认定",
        "开始初审",
        "初审通过，公示",
        "公示期满无异议",
        "服务站工作人员1",
        "区就业局 陈科长",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    b.script("document.getElementById('applications').scrollIntoView(); return null;")
        .await;
    b.screenshot("application-recognised").await;
    b.close().await;
}

#[actix_web::test]
async fn a_supervisor_opens_coverage_drills_down_and_downloads_a_ledger() {
    let app = demo_app(DEMO_PASSWORD).await;
    let b = Browser::start(&app).await;
    b.login("demo-supervisor", DEMO_PASSWORD).await;
    b.click("nav.sections a[href='/console/supervision']").await;
    b.wait_for_path("/console/supervision").await;
    // Last month, by street.
    let last_month = (chrono::Utc::now().date_naive().with_day(1).expect("day 1")
        - chrono::Duration::days(1))
    .format("%Y-%m")
    .to_string();
    b.goto(&format!(
        "/console/supervision?month={last_month}&group_by=street"
    ))
    .await;
    let text = b.text().await;
    assert!(
        text.contains("合计") && text.contains("近 12 个月走访覆盖"),
        "{text}"
    );
    b.screenshot("supervision").await;
    // The trend: the total and a line per street, named in the legend.
    let lines = b
        .script("return document.querySelectorAll('svg.chart polyline').length;")
        .await;
    assert_eq!(lines, json!(3), "the total and two streets");
    b.script("document.querySelector('ul.legend').scrollIntoView(false); return null;")
        .await;
    let legend = b
        .script("return document.querySelector('ul.legend').innerText;")
        .await;
    assert!(
        legend
            .as_str()
            .is_some_and(|t| t.contains("合计") && t.contains("华林街道")),
        "{legend}"
    );
    b.screenshot("supervision-trend").await;
    // The overdue tasks: a follow-up after a placement, not made by its day.
    b.click("a[href='/console/supervision/overdue']").await;
    b.wait_for_path("/console/supervision/overdue").await;
    let text = b.text().await;
    assert!(
        text.contains("逾期任务") && text.contains("跟踪回访（第1次"),
        "{text}"
    );
    b.screenshot("supervision-overdue").await;
    b.goto(&format!(
        "/console/supervision?month={last_month}&group_by=street"
    ))
    .await;
    // Street → its stations → a station's communities.
    b.click("table.coverage tbody tr:first-child td:first-child a")
        .await;
    b.wait_for_path("/console/supervision?node=").await;
    b.click("table.coverage tbody tr:first-child td:first-child a")
        .await;
    for _ in 0..100 {
        if b.path().await.contains("group_by=community") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(b.path().await.contains("group_by=community"));
    assert!(b.text().await.contains("社区"));
    // The visit ledger of that station, as a spreadsheet.
    b.script("document.querySelector('select[name=ledger]').value = 'visits'; return null;")
        .await;
    b.fill("input[name=reason]", "月度督导抽查").await;
    b.click("form[action='/console/exports'] button[type=submit]")
        .await;
    let files = b.downloaded(1).await;
    let name = files[0]
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_string();
    assert!(
        name.starts_with("走访台账_") && name.ends_with(".xlsx"),
        "{name}"
    );
    let bytes = std::fs::read(&files[0]).expect("file");
    assert!(bytes.starts_with(b"PK"), "an xlsx is a zip");
    b.screenshot("supervision-community").await;
    b.close().await;
}

#[actix_web::test]
async fn the_publicity_list_prints_on_a4() {
    let app = demo_app(DEMO_PASSWORD).await;
    let staff = app.login("demo-staff-1", DEMO_PASSWORD).await;
    let listed = app.get("/v1/publicity", &staff.access).await;
    let names: Vec<String> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["name"].as_str().map(str::to_string))
        .collect();
    assert!(!names.is_empty(), "the demo has applications in publicity");
    let b = Browser::start(&app).await;
    b.login("demo-staff-1", DEMO_PASSWORD).await;
    b.click("nav.sections a[href='/console/lists/publicity']")
        .await;
    b.wait_for_path("/console/lists/publicity").await;
    let text = b.text().await;
    assert!(text.contains("就业困难人员认定公示名单"), "{text}");
    for name in &names {
        assert!(text.contains(name.as_str()), "{name}");
    }
    b.screenshot("publicity").await;
    // As printed: A4, without the console's navigation.
    let pdf = b
        .client
        .print(fantoccini::wd::PrintConfiguration::default())
        .await
        .expect("print");
    assert!(pdf.starts_with(b"%PDF"));
    std::fs::write(screenshots().join("publicity.pdf"), &pdf).expect("saved");
    b.close().await;
}

#[actix_web::test]
async fn a_reviewer_works_through_the_queue_with_the_keyboard_alone() {
    let app = demo_app(DEMO_PASSWORD).await;
    let phone = demo_phone(&app, "demo-coord-1").await;
    let community = phone.s.user["org_node_ids"][0]
        .as_str()
        .expect("community")
        .to_string();
    let (_, p, _) = household_with_person(&app, &phone, &community, 62).await;
    let seed = uuid::Uuid::new_v4().as_u128() as u32;
    let (card, _) = evidence_with_photo(&app, &phone, &p, "resident_id_card", seed).await;
    evidence_with_photo(&app, &phone, &p, "household_register", seed + 1).await;

    let b = Browser::start(&app).await;
    // Log in: type, then Enter in the password field.
    b.goto("/console/login").await;
    b.fill("input[name=username]", "demo-staff-1").await;
    b.fill("input[name=password]", DEMO_PASSWORD).await;
    b.press(&char::from(Key::Enter).to_string()).await;
    b.wait_for_path("/console/").await;
    // The first Tab lands on the skip link; the sections are reached by Tab, opened by Enter.
    b.tab_to("a").await;
    assert!(b
        .script("return document.activeElement.classList.contains('skip');")
        .await
        .as_bool()
        .unwrap_or(false));
    b.tab_to("nav.sections a[href='/console/review']").await;
    b.press(&char::from(Key::Enter).to_string()).await;
    b.wait_for_path("/console/review").await;
    b.tab_to(&format!("a[href='/console/review/{card}']")).await;
    b.press(&char::from(Key::Enter).to_string()).await;
    b.wait_for_path(&format!("/console/review/{card}")).await;

    // The photo: rotate with ], zoom in steps up to 4x with +, out with -, back with 0.
    let attr = |name: &str| {
        format!("return document.querySelector('figure.photo').getAttribute('data-{name}');")
    };
    b.press("]").await;
    assert_eq!(b.script(&attr("rotate")).await, json!("90"));
    b.press("+").await;
    assert_eq!(b.script(&attr("zoom")).await, json!("1.5"));
    b.press("+++++").await;
    assert_eq!(b.script(&attr("zoom")).await, json!("4"), "stops at 4x");
    let shown = b
        .script("return document.getElementById('zoom').textContent;")
        .await;
    assert_eq!(shown, json!("4 倍"));
    let width = b
        // offsetWidth is the laid-out width, before the 90° turn swaps the drawn box's sides.
        .script("const i = document.getElementById('photo'); return i.offsetWidth / i.parentElement.clientWidth;")
        .await
        .as_f64()
        .expect("a ratio");
    assert!(
        width > 3.5,
        "the photo is drawn four times the frame: {width}"
    );
    // Turned and zoomed, the whole photo stays inside the scroll area: nothing above or
    // left of it, where scrolling cannot reach. (After the 0.15 s turn has run.)
    tokio::time::sleep(Duration::from_millis(400)).await;
    let outside = b
        .script("const i = document.getElementById('photo').getBoundingClientRect(); const f = document.querySelector('figure.photo').getBoundingClientRect(); return [f.left - i.left, f.top - i.top];")
        .await;
    let outside: Vec<f64> = serde_json::from_value(outside).expect("two offsets");
    assert!(
        outside.iter().all(|px| *px <= 1.0),
        "the turned photo starts inside the frame: {outside:?}"
    );
    b.screenshot("review-zoomed").await;
    b.press("-").await;
    assert_eq!(b.script(&attr("zoom")).await, json!("3"));
    b.press("0").await;
    assert_eq!(b.script(&attr("zoom")).await, json!("fit"));

    // A approves, and the next piece opens at once.
    b.press("a").await;
    for _ in 0..100 {
        if b.path().await != format!("/console/review/{card}") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let next = b.path().await;
    assert!(
        next.starts_with("/console/review/") && next != format!("/console/review/{card}"),
        "{next}"
    );
    // R puts the keyboard in the reason; typing there is text, not shortcuts (the "a" in
    // it approves nothing); Tab reaches the retake button, Enter sends it.
    b.press("r").await;
    assert_eq!(b.focused_id().await, json!("reason"));
    b.press("blurry photo, again please").await;
    assert_eq!(
        b.path().await,
        next,
        "typing in the reason took no shortcut"
    );
    b.tab_to("button[value=retake]").await;
    b.press(&char::from(Key::Enter).to_string()).await;
    for _ in 0..100 {
        if b.path().await != next {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.goto(&next).await;
    let text = b.text().await;
    assert!(
        text.contains("待重拍") && text.contains("blurry photo, again please"),
        "{text}"
    );
    b.goto(&format!("/console/review/{card}")).await;
    assert!(b.text().await.contains("已通过"));
    b.screenshot("review-keyboard").await;
    b.close().await;
}

/// 岗位: a station approves a coordinator's proposed vacancy with a reason, then opens a
/// recognised person's file, sees the matched vacancies with their reasons, and
/// recommends one: a referral at the window.
#[actix_web::test]
async fn a_station_approves_a_vacancy_and_recommends_a_match_from_the_case_file() {
    let app = demo_app(DEMO_PASSWORD).await;
    let staff = app.login("demo-staff-1", DEMO_PASSWORD).await;
    let b = Browser::start(&app).await;
    b.login("demo-staff-1", DEMO_PASSWORD).await;
    b.click("nav.sections a[href='/console/jobs']").await;
    b.wait_for_path("/console/jobs").await;
    let text = b.text().await;
    assert!(
        text.contains("各街道岗位开发") && text.contains("华林街道"),
        "{text}"
    );
    assert!(text.contains("收银员"), "the proposal: {text}");
    b.screenshot("jobs").await;
    // Approving needs a reason; with one, the proposal is approved and leaves the queue.
    b.fill("article.proposal input[name=reason]", "已电话核实用工需求")
        .await;
    b.click("article.proposal button[value=approved]").await;
    b.wait_for_path("/console/jobs").await;
    let text = b.text().await;
    assert!(text.contains("已保存"), "{text}");
    assert!(text.contains("没有待审核的岗位。"), "{text}");

    // An employer's file: its details with the contact's phone masked, its visits and
    // vacancies; the station confirms an unchecked employer's details.
    let unchecked = b
        .script("const r = [...document.querySelectorAll('table.employers tbody tr')].find(r => r.textContent.includes('未核实')); return r ? r.querySelector('a').getAttribute('href') : null;")
        .await;
    let unchecked = unchecked
        .as_str()
        .expect("an unchecked employer")
        .to_string();
    b.click(&format!("table.employers a[href='{unchecked}']"))
        .await;
    b.wait_for_path(&unchecked).await;
    let text = b.text().await;
    assert!(
        text.contains("单位信息") && text.contains("统一社会信用代码") && text.contains("未核实"),
        "{text}"
    );
    assert!(text.contains("走访了解用工需求"), "the visit: {text}");
    assert!(text.contains("****"), "the phone is masked: {text}");
    assert!(!text.contains("13950102"), "no clear phone: {text}");
    b.screenshot("employer").await;
    b.click("form button[name=verified]").await;
    b.wait_for_path(&unchecked).await;
    let text = b.text().await;
    assert!(
        text.contains("已核实") && !text.contains("未核实"),
        "{text}"
    );
    b.goto("/console/jobs").await;

    // A recognised person with matches; their file lists them with the reasons.
    let persons = app
        .get("/v1/persons?status=recognised&limit=100", &staff.access)
        .await;
    let mut person = None;
    for p in persons.body["items"].as_array().expect("items") {
        let id = p["id"].as_str().unwrap_or_default();
        let m = app
            .get(&format!("/v1/persons/{id}/matches"), &staff.access)
            .await;
        if m.body["matches"].as_array().is_some_and(|m| !m.is_empty()) {
            person = Some((id.to_string(), m.body["matches"][0].clone()));
            break;
        }
    }
    let (person, best) = person.expect("a recognised person with a match");
    let before = app
        .get(&format!("/v1/persons/{person}"), &staff.access)
        .await;
    let referrals = |file: &Value| file["referrals"].as_array().map_or(0, Vec::len);
    b.goto(&format!("/console/persons/{person}")).await;
    let text = b.text().await;
    let title = best["title"].as_str().unwrap_or_default();
    assert!(text.contains("推荐岗位") && text.contains(title), "{text}");
    assert!(text.contains("分"), "{text}");
    b.script("document.getElementById('matches').scrollIntoView(); return true;")
        .await;
    b.screenshot("case-file-matches").await;
    b.click("#matches button[type=submit]").await;
    b.wait_for_path(&format!("/console/persons/{person}")).await;
    let text = b.text().await;
    assert!(text.contains("推荐岗位：已办理"), "{text}");
    let after = app
        .get(&format!("/v1/persons/{person}"), &staff.access)
        .await;
    assert_eq!(referrals(&after.body), referrals(&before.body) + 1);
    let made = after.body["referrals"]
        .as_array()
        .and_then(|r| {
            r.iter()
                .find(|r| r["data"]["vacancy_id"] == best["vacancy_id"])
        })
        .expect("the referral");
    assert_eq!(made["data"]["channel"], "window");
    // The file lists it under 就业情况, with how it was made.
    let text = b.text().await;
    assert!(
        text.contains("就业情况") && text.contains("窗口") && text.contains("待反馈"),
        "{text}"
    );

    // A person who left for work: the referral that led to it, the placement, the terms.
    let exited = app
        .get("/v1/persons?status=exited&limit=1", &staff.access)
        .await;
    let exited = exited.body["items"][0]["id"]
        .as_str()
        .expect("an exited person")
        .to_string();
    b.goto(&format!("/console/persons/{exited}")).await;
    let text = b.text().await;
    assert!(
        text.contains("已录用") && text.contains("上岗：") && text.contains("签订合同：是"),
        "{text}"
    );
    b.script("document.getElementById('work').scrollIntoView(); return true;")
        .await;
    b.screenshot("case-file-work").await;

    // Persons placed and not yet exited are on the exit list for their work, and their
    // files say they are in work.
    b.goto("/console/lists/exit-candidates").await;
    let placed = b
        .script("const r = [...document.querySelectorAll('table.list tbody tr')].find(r => r.textContent.includes('已上岗')); return r ? r.querySelector('a').getAttribute('href') : null;")
        .await;
    let placed = placed
        .as_str()
        .expect("a person in work on the exit list")
        .to_string();
    b.screenshot("exit-candidates").await;
    b.goto(&placed).await;
    let text = b.text().await;
    assert!(text.contains("在岗") && text.contains("单位档案"), "{text}");
    b.screenshot("case-file-in-work").await;
    b.close().await;
}

/// 灵活就业社保补贴 on the case file: the street's supervisor finds an application awaiting
/// the street's review, reads the server's months and amount, and passes it up.
#[actix_web::test]
async fn a_street_supervisor_passes_a_subsidy_on_the_case_file() {
    let app = demo_app(DEMO_PASSWORD).await;
    let street = app.login("demo-street-1", DEMO_PASSWORD).await;
    let r = app
        .get(
            "/v1/subsidies?kind=flexible_insurance&state=street_review",
            &street.access,
        )
        .await;
    let person = r.body["items"][0]["data"]["person_id"]
        .as_str()
        .expect("an application awaiting the street")
        .to_string();
    let b = Browser::start(&app).await;
    b.login("demo-street-1", DEMO_PASSWORD).await;
    b.goto(&format!("/console/persons/{person}")).await;
    let text = b.text().await;
    assert!(
        text.contains("灵活就业社保补贴") && text.contains("街道复审") && text.contains("补贴"),
        "{text}"
    );
    assert!(text.contains("****"), "the account is masked: {text}");
    b.script("document.getElementById('subsidies').scrollIntoView(); return null;")
        .await;
    b.screenshot("subsidy-street-review").await;
    b.click("#subsidies button[data-action=pass]").await;
    for _ in 0..100 {
        if b.text().await.contains("区级审批") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = b.text().await;
    assert!(
        text.contains("审核通过：已办理") && text.contains("区级审批"),
        "{text}"
    );
    b.screenshot("subsidy-passed").await;
    b.close().await;
}

/// A street supervisor finds a public-welfare job subsidy in the 补贴 queue, opens it (the
/// employer, each person's months and amount, the on-site check) and passes it.
#[actix_web::test]
async fn a_street_supervisor_passes_a_public_welfare_subsidy_from_the_queue() {
    let app = demo_app(DEMO_PASSWORD).await;
    let b = Browser::start(&app).await;
    b.login("demo-street-1", DEMO_PASSWORD).await;
    b.goto("/console/subsidies").await;
    let text = b.text().await;
    assert!(
        text.contains("待我办理")
            && text.contains("公益性岗位补贴")
            && text.contains("灵活就业社保补贴"),
        "{text}"
    );
    b.screenshot("subsidies-queue").await;
    b.click("table.subsidies tr[data-state=street_review] a[href^='/console/subsidies/']")
        .await;
    for _ in 0..100 {
        if b.text().await.contains("享受补贴人员") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = b.text().await;
    assert!(
        text.contains("社区公益性岗位补贴申请")
            && text.contains("街道复审")
            && text.contains("实地核查")
            && text.contains("****"),
        "{text}"
    );
    b.screenshot("welfare-subsidy-street-review").await;
    b.click("button[data-action=pass]").await;
    for _ in 0..100 {
        if b.text().await.contains("已办理：审核通过") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = b.text().await;
    assert!(
        text.contains("已办理：审核通过") && text.contains("区级审批"),
        "{text}"
    );
    b.goto("/console/subsidies?view=returned").await;
    let text = b.text().await;
    assert!(text.contains("补贴申请不成功人员花名册"), "{text}");
    b.screenshot("subsidies-returned-roster").await;
    // As printed: A4, without the console's navigation.
    let pdf = b
        .client
        .print(fantoccini::wd::PrintConfiguration::default())
        .await
        .expect("print");
    assert!(pdf.starts_with(b"%PDF"));
    std::fs::write(screenshots().join("subsidies-returned-roster.pdf"), &pdf).expect("saved");
    b.goto("/console/subsidies?view=months").await;
    let text = b.text().await;
    assert!(
        text.contains("核定金额") && text.contains("享受人数"),
        "{text}"
    );
    b.screenshot("subsidies-months").await;
    b.close().await;
}
