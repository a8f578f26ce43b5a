//! The console's stylesheet and script, compiled into the binary and served under names
//! that carry a hash of their content, so browsers may keep them for a year and a new
//! build is fetched at once.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

struct Asset {
    name: String,
    body: &'static str,
    media_type: &'static str,
}

fn assets() -> &'static [Asset; 2] {
    static ASSETS: OnceLock<[Asset; 2]> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let named = |stem: &str, ext: &str, body: &'static str, media_type| Asset {
            name: format!("{stem}.{}.{ext}", &hex::encode(Sha256::digest(body))[..12]),
            body,
            media_type,
        };
        [
            named("console", "css", CSS, "text/css; charset=utf-8"),
            named("console", "js", JS, "text/javascript; charset=utf-8"),
        ]
    })
}

/// The stylesheet's path.
pub fn css() -> String {
    format!("/console/assets/{}", assets()[0].name)
}

/// The script's path.
pub fn js() -> String {
    format!("/console/assets/{}", assets()[1].name)
}

/// `GET /console/assets/{name}`.
pub async fn serve(name: web::Path<String>) -> HttpResponse {
    match assets().iter().find(|a| a.name == *name) {
        Some(a) => HttpResponse::Ok()
            .content_type(a.media_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(a.body),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found"),
    }
}
