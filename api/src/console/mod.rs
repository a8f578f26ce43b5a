//! 工作台: the Chinese web console for station staff and supervisors, served by the same
//! binary at `/console/`.
//!
//! Pages are rendered on the server (maud: HTML written in Rust, every value escaped
//! unless marked otherwise, checked when the server is compiled), with a small script of
//! our own for what only a browser can do (zoom and rotate a photo, keyboard shortcuts);
//! every page works without it. The stylesheet and script are compiled in (`assets`), so
//! `cargo run --release` is still the whole set-up, with no Node toolchain.
//!
//! Every page is a thin handler over the API's own functions, with the API's `Caller`:
//! the same roles, the same scope, no second copy of the rules. A strict
//! Content-Security-Policy (no inline script or style, nothing from elsewhere) is on
//! every answer under `/console/`.

mod admin;
mod assets;
mod conflicts;
mod employers;
mod error;
mod home;
mod jobs;
pub(crate) mod labels;
mod lists;
mod login;
mod names;
mod page;
mod persons;
mod review;
mod session;
mod subsidies;
mod supervision;
mod zh;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpResponse};
use maud::html;

pub use session::SESSION_COOKIE;

/// Scripts and styles only from the server's own files; images from the server (photos
/// are served under `/console/photos/`); forms post only back to it; no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    Ok(res)
}

async fn not_found() -> HttpResponse {
    page::error_page(
        StatusCode::NOT_FOUND,
        "找不到该页面",
        html! { p { "地址可能有误，或这个页面已经移走。" } },
    )
}

async fn to_home() -> HttpResponse {
    session::see_other("/console/")
}

/// Registers the console under `/console`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(to_home));
    cfg.service(
        web::scope("/console")
            .wrap(from_fn(headers))
            .route("/", web::get().to(home::home))
            .route("/login", web::get().to(login::form))
            .route("/login", web::post().to(login::submit))
            .route("/logout", web::post().to(login::logout))
            .route("/password", web::get().to(login::password_form))
            .route("/password", web::post().to(login::change_password))
            .route("/review", web::get().to(review::list))
            .route("/review/{id}", web::get().to(review::item))
            .route("/review/{id}", web::post().to(review::decide))
            .route("/photos/{sha256}/{which}", web::get().to(review::photo))
            .route("/persons", web::get().to(persons::list))
            .route("/persons/lookup", web::post().to(persons::lookup))
            .route("/households", web::get().to(persons::households))
            .route("/persons/{id}", web::get().to(persons::case_file))
            .route("/persons/{id}/reveal", web::post().to(persons::reveal))
            .route("/persons/{id}/applications", web::post().to(persons::apply))
            .route("/persons/{id}/exit", web::post().to(persons::exit))
            .route("/persons/{id}/referrals", web::post().to(persons::refer))
            .route(
                "/persons/{id}/subsidies/{sid}",
                web::post().to(persons::subsidy_step),
            )
            .route(
                "/persons/{id}/applications/{application}",
                web::post().to(persons::step),
            )
            .route("/supervision", web::get().to(supervision::coverage))
            .route("/supervision/due", web::get().to(supervision::due))
            .route("/supervision/overdue", web::get().to(supervision::overdue))
            .route("/supervision/flags", web::get().to(supervision::flags))
            .route("/supervision/cases", web::get().to(supervision::cases))
            .route("/exports", web::post().to(supervision::export))
            .route("/lists/publicity", web::get().to(lists::publicity))
            .route(
                "/lists/exit-candidates",
                web::get().to(lists::exit_candidates),
            )
            .route(
                "/lists/zero-employment",
                web::get().to(lists::zero_employment),
            )
            .route("/lists/duplicates", web::get().to(lists::duplicates))
            .route("/jobs", web::get().to(jobs::jobs))
            .route("/jobs/vacancies/{id}", web::post().to(jobs::decide))
            .route("/jobs/employers/{id}", web::get().to(employers::employer))
            .route("/jobs/employers/{id}", web::post().to(employers::verify))
            .route("/subsidies", web::get().to(subsidies::list))
            .route("/subsidies/{id}", web::get().to(subsidies::application))
            .route("/subsidies/{id}", web::post().to(subsidies::step))
            .route("/admin", web::get().to(admin::index))
            .route("/admin/users", web::get().to(admin::users))
            .route("/admin/users", web::post().to(admin::create_user))
            .route("/admin/users/{id}", web::post().to(admin::update_user))
            .route("/admin/users/{id}/edit", web::get().to(admin::edit_user))
            .route("/admin/users/{id}/edit", web::post().to(admin::save_user))
            .route(
                "/admin/users/{id}/password-reset",
                web::post().to(admin::reset_password),
            )
            .route("/admin/org", web::get().to(admin::org_tree))
            .route("/admin/org", web::post().to(admin::create_node))
            .route("/admin/devices", web::get().to(admin::devices))
            .route("/admin/devices/{id}", web::post().to(admin::update_device))
            .route("/conflicts", web::get().to(conflicts::list))
            .route("/conflicts/{id}", web::post().to(conflicts::resolve))
            .route("/assets/{name}", web::get().to(assets::serve))
            .default_service(web::to(not_found)),
    );
}
