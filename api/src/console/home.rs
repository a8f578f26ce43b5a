//! 首页: what needs doing today, for the caller's role and scope, each count linking to
//! the list it counts where the console has that list.

use actix_web::web;
use liuqing_schema::domain::Permission;
use liuqing_schema::time::now_micros;
use liuqing_schema::{casefile, coverage, records};
use maud::{html, Markup};

use super::error::ConsoleResult;
use super::page::{self, tile, Section};
use super::session::Console;
use crate::routes::review::{queue_of, QueueQuery};
use crate::state::AppState;

/// The most items a count looks at; more shows as "500+" (the list has them all).
const COUNTED: i64 = 500;

#[derive(Default)]
struct Today {
    evidence: Option<i64>,
    conflicts: Option<i64>,
    to_review: i64,
    in_publicity: i64,
    due_visits: i64,
    exit_candidates: i64,
}

/// `GET /console/`.
pub async fn home(state: web::Data<AppState>, console: Console) -> ConsoleResult {
    let caller = console.caller.clone();
    if !caller.may(Permission::ReadCaseFiles) {
        return Ok(console.html(page::shell(&console, Section::Home, "首页", admin_home())));
    }
    let app = state.clone();
    let today =
        state
            .db
            .run(move |conn| {
                let scope = caller.scope(conn)?;
                let mut t = Today::default();
                if caller.may(Permission::ReviewEvidence) {
                    let q = QueueQuery {
                        limit: Some(COUNTED),
                        ..QueueQuery::default()
                    };
                    t.evidence = Some(queue_of(conn, &caller, &q)?.len() as i64);
                }
                if caller.may(Permission::ResolveConflicts) {
                    t.conflicts =
                        Some(records::open_conflicts(conn, &scope, COUNTED)?.len() as i64);
                }
                let waiting = casefile::applications_in(
                    conn,
                    &scope,
                    &["received", "preliminary_review", "publicity"],
                )?;
                for (rec, _) in &waiting {
                    if rec.document()?.get("state").and_then(|s| s.as_str()) == Some("publicity") {
                        t.in_publicity += 1;
                    } else {
                        t.to_review += 1;
                    }
                }
                let communities = records::communities_in_scope(conn, &scope)?;
                let settings = app.config.coverage_settings();
                t.due_visits =
                    coverage::due_now(conn, &communities, now_micros(), &settings)?.len() as i64;
                t.exit_candidates =
                    casefile::exit_candidates(conn, &scope, app.config.today(), COUNTED as usize)?
                        .len() as i64;
                Ok(t)
            })
            .await?;
    let body = html! {
        p.lede { "今天要做的事。数字是你负责范围内的数量。" }
        section.tiles aria-label="待办" {
            @if let Some(n) = today.evidence {
                (tile("待审核材料", n, "/console/review", if n >= COUNTED { "500 件以上" } else { "证件照片、承诺书" }))
            }
            @if let Some(n) = today.conflicts {
                (tile("待处理冲突", n, "/console/conflicts", "两台手机改了同一项"))
            }
            (count_only("待初审申请", today.to_review, "受理后待初审"))
            (tile("公示中", today.in_publicity, "/console/lists/publicity", "公示期满后可认定"))
            (count_only("应走访家庭", today.due_visits, "超过走访周期未见面"))
            (tile("可能退出", today.exit_candidates, "/console/lists/exit-candidates", "六个月未联系或已上岗"))
        }
    };
    Ok(console.html(page::shell(&console, Section::Home, "首页", body)))
}

/// A count whose list is not yet a console page.
fn count_only(label: &str, n: i64, hint: &str) -> Markup {
    html! {
        div.tile data-zero=[(n == 0).then_some("1")] {
            span.n { (super::zh::count(n)) }
            span.label { (label) }
            span.hint { (hint) }
        }
    }
}

fn admin_home() -> Markup {
    html! {
        p.lede { "系统管理员管理用户、组织和设备，不查看任何人员档案。" }
        section.tiles aria-label="系统管理" {
            a.tile href="/console/admin/users" { span.label { "用户" } span.hint { "新建、停用、重置密码" } }
            a.tile href="/console/admin/org" { span.label { "组织" } span.hint { "区、街道、服务站、社区" } }
            a.tile href="/console/admin/devices" { span.label { "设备" } span.hint { "退役、吊销" } }
        }
    }
}
