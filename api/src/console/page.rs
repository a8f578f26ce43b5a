//! The frame every console page shares: the document head (stylesheet, script, no inline
//! code of any kind: the Content-Security-Policy forbids it), the top bar with the user
//! and logout, and the navigation, which offers a role only the pages it may open.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use liuqing_schema::domain::Permission;
use maud::{html, Markup, DOCTYPE};

use super::assets;
use super::session::Console;
use super::zh;

/// The console's sections, as the navigation names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Review,
    Conflicts,
    Persons,
    Supervision,
    Lists,
    Jobs,
    Subsidies,
    Admin,
    Account,
}

impl Section {
    fn label(self) -> &'static str {
        match self {
            Section::Home => "首页",
            Section::Review => "材料审核",
            Section::Conflicts => "冲突处理",
            Section::Persons => "人员档案",
            Section::Supervision => "督导",
            Section::Lists => "名单",
            Section::Jobs => "岗位",
            Section::Subsidies => "补贴",
            Section::Admin => "系统管理",
            Section::Account => "账户",
        }
    }

    fn href(self) -> &'static str {
        match self {
            Section::Home => "/console/",
            Section::Review => "/console/review",
            Section::Conflicts => "/console/conflicts",
            Section::Persons => "/console/persons",
            Section::Supervision => "/console/supervision",
            Section::Lists => "/console/lists/publicity",
            Section::Jobs => "/console/jobs",
            Section::Subsidies => "/console/subsidies",
            Section::Admin => "/console/admin",
            Section::Account => "/console/password",
        }
    }

    /// What a role needs to see the section in the navigation (the pages check again).
    fn needs(self) -> Option<Permission> {
        match self {
            Section::Home | Section::Account => None,
            Section::Review => Some(Permission::ReviewEvidence),
            // Admins for users and the org tree; station staff for their devices.
            Section::Admin => Some(Permission::ViewDevices),
            Section::Conflicts => Some(Permission::ResolveConflicts),
            Section::Persons
            | Section::Supervision
            | Section::Lists
            | Section::Jobs
            | Section::Subsidies => Some(Permission::ReadCaseFiles),
        }
    }
}

const NAV: &[Section] = &[
    Section::Home,
    Section::Persons,
    Section::Review,
    Section::Conflicts,
    Section::Lists,
    Section::Jobs,
    Section::Subsidies,
    Section::Supervision,
    Section::Admin,
];

/// A whole HTML document.
pub fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (title) " · 六清工作台" }
                link rel="stylesheet" href=(assets::css());
                script src=(assets::js()) defer {}
            }
            body { (body) }
        }
    }
}

/// A page of a signed-in user: top bar, navigation, and `main`.
pub fn shell(c: &Console, active: Section, title: &str, main: Markup) -> Markup {
    let caller = &c.caller;
    document(
        title,
        html! {
            a.skip href="#main" { "跳到正文" }
            header.top {
                a.brand href="/console/" { "六清 · 工作台" }
                nav.sections aria-label="主导航" {
                    @for s in NAV.iter().filter(|s| s.needs().is_none_or(|p| caller.may(p))) {
                        a href=(s.href()) aria-current=[(*s == active).then_some("page")] { (s.label()) }
                    }
                }
                div.who {
                    a href=(Section::Account.href()) title="修改密码" {
                        span.name { (caller.display_name) }
                        span.role { (zh::role(caller.role)) }
                    }
                    form method="post" action="/console/logout" {
                        input type="hidden" name="csrf" value=(c.csrf);
                        button.link type="submit" { "退出" }
                    }
                }
            }
            main #main tabindex="-1" {
                h1 { (title) }
                (main)
            }
        },
    )
}

/// A page that says what went wrong, with a way back.
pub fn error_page(status: StatusCode, title: &str, detail: Markup) -> HttpResponse {
    let body = document(
        title,
        html! {
            main.narrow #main {
                h1 { (title) }
                (detail)
                p { a href="/console/" { "返回首页" } }
            }
        },
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body.into_string())
}

/// A count that links to the list it counts.
pub fn tile(label: &str, n: i64, href: &str, hint: &str) -> Markup {
    html! {
        a.tile href=(href) data-zero=[(n == 0).then_some("1")] {
            span.n { (zh::count(n)) }
            span.label { (label) }
            span.hint { (hint) }
        }
    }
}

/// Why a step was refused, said on the page that offered it: the guide's rules unmet (each
/// with what would meet it, then `hint`), bad input, or a step not open or not the
/// caller's. Any other error is returned, for the error page.
pub fn refusal(e: crate::error::ApiError, hint: &str) -> Result<Markup, crate::error::ApiError> {
    use crate::error::ApiError;
    Ok(match e {
        ApiError::RulesUnmet { unmet, .. } => html! {
            div.error role="alert" {
                p { "按照指南，这一步还不能办理，缺少：" }
                ul {
                    @for u in &unmet {
                        li {
                            @if let Some(c) = u.category { (c.chinese_name()) "：" }
                            (u.reason)
                            @if !u.evidence.is_empty() {
                                "（需要：" (u.evidence.iter().map(|e| e.chinese_name()).collect::<Vec<_>>().join("、")) "）"
                            }
                        }
                    }
                }
                p { (hint) }
            }
        },
        ApiError::Validation(errors) => html! {
            p.error role="alert" { "没有办理：" (errors.iter().map(|e| format!("{}：{}", e.field, e.reason)).collect::<Vec<_>>().join("；")) }
        },
        ApiError::Conflict(_, why) | ApiError::Forbidden(_, why) => html! {
            p.error role="alert" { "没有办理：" (why) }
        },
        e => return Err(e),
    })
}
