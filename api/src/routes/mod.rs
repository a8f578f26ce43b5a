//! Every route, in one table. The server registers exactly this table, and the contract
//! test compares it with `openapi.yaml`, so the two cannot drift apart.

mod access_log;
pub(crate) mod admin;
pub mod attachments;
pub(crate) mod auth;
pub(crate) mod casework;
pub(crate) mod commitments;
pub(crate) mod conflicts;
pub(crate) mod devices;
pub(crate) mod exports;
mod health;
pub(crate) mod households;
pub(crate) mod matches;
mod me;
mod org;
pub(crate) mod persons;
pub(crate) mod reports;
pub(crate) mod review;
pub(crate) mod subsidies;
pub(crate) mod supervision;
pub mod sync;
pub(crate) mod views;

pub use health::OPENAPI_YAML;

use actix_web::http::Method;
use actix_web::{web, Route};

fn route<F, Args>(method: Method, path: &'static str, handler: F) -> (Method, &'static str, Route)
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    (method.clone(), path, web::method(method).to(handler))
}

fn table() -> Vec<(Method, &'static str, Route)> {
    use Method as M;
    vec![
        route(M::GET, "/healthz", health::healthz),
        route(M::GET, "/readyz", health::readyz),
        route(M::GET, "/openapi.yaml", health::openapi),
        route(M::POST, "/v1/auth/login", auth::login),
        route(M::POST, "/v1/auth/refresh", auth::refresh),
        route(M::POST, "/v1/auth/logout", auth::logout),
        route(M::POST, "/v1/auth/password", auth::change_password),
        route(M::GET, "/v1/me", me::me),
        route(M::POST, "/v1/sync/push", sync::push),
        route(M::GET, "/v1/sync/pull", sync::pull),
        route(M::GET, "/v1/sync/status", sync::status),
        route(M::GET, "/v1/sync/conflicts", conflicts::list),
        route(
            M::POST,
            "/v1/sync/conflicts/{id}/resolve",
            conflicts::resolve,
        ),
        route(M::GET, "/v1/persons", persons::list),
        route(M::GET, "/v1/persons/{id}", persons::case_file),
        route(M::GET, "/v1/persons/{id}/notice", persons::notice),
        route(M::POST, "/v1/persons/{id}/reveal", persons::reveal),
        route(M::GET, "/v1/persons/{id}/matches", matches::for_person),
        route(M::POST, "/v1/persons/{id}/referrals", matches::recommend),
        route(M::GET, "/v1/vacancies/{id}/matches", matches::for_vacancy),
        route(M::GET, "/v1/households", households::list),
        route(M::GET, "/v1/households/{id}", households::get),
        route(M::GET, "/v1/entities", casework::entities),
        route(M::POST, "/v1/records/{entity}", casework::create),
        route(M::GET, "/v1/records/{entity}/{id}", casework::get),
        route(M::PATCH, "/v1/records/{entity}/{id}", casework::update),
        route(M::POST, "/v1/recognitions/{id}/actions", casework::act),
        route(M::GET, "/v1/subsidies", subsidies::list),
        route(M::POST, "/v1/subsidies/{id}/actions", subsidies::act),
        route(M::GET, "/v1/publicity", reports::publicity),
        route(M::GET, "/v1/duplicates", reports::duplicates),
        route(M::GET, "/v1/exit-candidates", reports::exit_candidates),
        route(M::GET, "/v1/reviews/overdue", reports::overdue_reviews),
        route(M::GET, "/v1/tasks/overdue", reports::overdue_tasks),
        route(M::GET, "/v1/admin/access-log", access_log::list),
        route(M::GET, "/v1/zero-employment", reports::zero_employment),
        route(M::GET, "/v1/reports/coverage", supervision::coverage),
        route(M::GET, "/v1/reports/coverage/due", supervision::due),
        route(
            M::GET,
            "/v1/reports/coverage/flags",
            supervision::flagged_visits,
        ),
        route(M::GET, "/v1/exports/{ledger}", exports::export),
        route(M::GET, "/v1/reports/cases", supervision::cases),
        route(M::GET, "/v1/reports/trend", supervision::trend),
        route(M::GET, "/v1/reports/jobs", supervision::jobs),
        route(M::GET, "/v1/reports/subsidies", supervision::subsidies),
        route(M::PUT, "/v1/attachments/{sha256}", attachments::put),
        route(
            M::GET,
            "/v1/attachments/{sha256}",
            attachments::get_original,
        ),
        route(
            M::GET,
            "/v1/attachments/{sha256}/info",
            attachments::get_info,
        ),
        route(
            M::GET,
            "/v1/attachments/{sha256}/thumbnail",
            attachments::get_thumbnail,
        ),
        route(
            M::GET,
            "/v1/attachments/{sha256}/review",
            attachments::get_review,
        ),
        route(M::POST, "/v1/uploads", attachments::create_upload),
        route(M::GET, "/v1/uploads/{id}", attachments::get_upload),
        route(M::PATCH, "/v1/uploads/{id}", attachments::send_chunk),
        route(
            M::POST,
            "/v1/uploads/{id}/finish",
            attachments::finish_upload,
        ),
        route(M::GET, "/v1/review/evidence", review::queue),
        route(M::POST, "/v1/review/evidence/{id}/decision", review::decide),
        route(
            M::GET,
            "/v1/commitments/{id}/binding",
            commitments::get_binding,
        ),
        route(M::GET, "/v1/org/nodes", org::list),
        route(M::GET, "/v1/org/nodes/{id}", org::get),
        route(M::GET, "/v1/devices", devices::list),
        route(M::GET, "/v1/devices/{id}", devices::get),
        route(M::PATCH, "/v1/devices/{id}", devices::update),
        route(M::POST, "/v1/admin/org/nodes", admin::create_org_node),
        route(M::GET, "/v1/admin/users", admin::list_users),
        route(M::POST, "/v1/admin/users", admin::create_user),
        route(M::GET, "/v1/admin/users/{id}", admin::get_user),
        route(M::PATCH, "/v1/admin/users/{id}", admin::update_user),
        route(
            M::PUT,
            "/v1/admin/users/{id}/org-nodes",
            admin::set_user_org_nodes,
        ),
        route(
            M::POST,
            "/v1/admin/users/{id}/password-reset",
            admin::reset_password,
        ),
    ]
}

/// Registers the table, one resource per path so that a wrong method is a 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut resources: Vec<(&'static str, Vec<Route>)> = Vec::new();
    for (_, path, route) in table() {
        match resources.iter_mut().find(|(p, _)| *p == path) {
            Some((_, routes)) => routes.push(route),
            None => resources.push((path, vec![route])),
        }
    }
    for (path, routes) in resources {
        let mut resource = web::resource(path);
        for route in routes {
            resource = resource.route(route);
        }
        cfg.service(resource);
    }
}

/// The operations the server serves, as `(METHOD, path)`.
pub fn operations() -> Vec<(String, String)> {
    table()
        .into_iter()
        .map(|(method, path, _)| (method.to_string(), path.to_string()))
        .collect()
}
