//! First start: a database with no users gets an `admin`, so the system can be set up.

use liuqing_schema::audit::{self, Actor};
use liuqing_schema::users::{self, NewUser, Role};
use liuqing_schema::DbConn;

use crate::auth::password;
use crate::config::Config;

pub const FIRST_ADMIN: &str = "admin";

/// Creates the first admin when there are no users. With `admin_password` configured the
/// admin uses it (automated deployments); otherwise a random one-time password is printed
/// once and must be changed at first login.
pub fn ensure_first_admin(conn: &mut DbConn, config: &Config) -> anyhow::Result<()> {
    if users::count(conn)? > 0 {
        return Ok(());
    }
    let configured = config.admin_password.expose();
    let (secret, one_time) = if configured.is_empty() {
        (password::generate(), true)
    } else {
        (configured.to_string(), false)
    };
    let id = uuid::Uuid::now_v7().to_string();
    let created = users::create(
        conn,
        &NewUser {
            id: &id,
            username: FIRST_ADMIN,
            display_name: "Administrator",
            password_hash: &password::hash(&secret)?,
            role: Role::Admin,
            must_change_password: one_time,
        },
    );
    match created {
        Ok(_) => {}
        // Another replica starting at the same moment made it first.
        Err(e) if e.is_unique_violation() => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    audit::record(
        conn,
        Actor::default(),
        "bootstrap_admin",
        "user",
        &id,
        None,
        None,
    )?;
    if one_time {
        // Deliberately outside the structured log: shown once to whoever started the server.
        eprintln!(
            "\n  First start: created user `{FIRST_ADMIN}` with one-time password: {secret}\n  \
             It must be changed at first login.\n"
        );
        tracing::warn!(
            user = FIRST_ADMIN,
            "created the first admin with a one-time password (printed above)"
        );
    } else {
        tracing::info!(
            user = FIRST_ADMIN,
            "created the first admin with the configured password"
        );
    }
    Ok(())
}
