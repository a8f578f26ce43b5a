//! Phones (and browsers) registered at login, and their lifecycle as in the sync protocol:
//! `active` → `retiring` (may push what it holds, then is locked) → `revoked` (locked at once).

use diesel::prelude::*;
use serde::Serialize;

use crate::error::StoreResult;
use crate::scope::Scope;
use crate::tables::devices;
use crate::time::{now_micros, Micros};
use crate::DbConn;

crate::text_enum! {
    pub enum DeviceState {
        Active = "active",
        Retiring = "retiring",
        Revoked = "revoked",
    }
}

impl DeviceState {
    /// Revocation is final: a lost phone never comes back to life. Anything else may move.
    pub fn can_become(self, next: DeviceState) -> bool {
        self != DeviceState::Revoked || next == DeviceState::Revoked
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = devices)]
pub struct Device {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub platform: String,
    pub state: DeviceState,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub created_at: Micros,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub last_seen_at: Micros,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub state_changed_at: Micros,
    pub state_changed_by: Option<String>,
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<Device>> {
    Ok(devices::table
        .find(id)
        .select(Device::as_select())
        .first(conn)
        .optional()?)
}

/// Registers a device on first login, or refreshes its name, platform and last-seen time.
pub fn register(
    conn: &mut DbConn,
    id: &str,
    user_id: &str,
    name: &str,
    platform: &str,
) -> StoreResult<Device> {
    let now = now_micros();
    if find(conn, id)?.is_some() {
        diesel::update(devices::table.find(id))
            .set((
                devices::name.eq(name),
                devices::platform.eq(platform),
                devices::last_seen_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(devices::table)
            .values(&Device {
                id: id.to_string(),
                user_id: user_id.to_string(),
                name: name.to_string(),
                platform: platform.to_string(),
                state: DeviceState::Active,
                created_at: now,
                last_seen_at: now,
                state_changed_at: now,
                state_changed_by: None,
            })
            .execute(conn)?;
    }
    Ok(find(conn, id)?.ok_or(diesel::result::Error::NotFound)?)
}

pub fn set_state(
    conn: &mut DbConn,
    id: &str,
    state: DeviceState,
    by_user: &str,
) -> StoreResult<()> {
    diesel::update(devices::table.find(id))
        .set((
            devices::state.eq(state),
            devices::state_changed_at.eq(now_micros()),
            devices::state_changed_by.eq(by_user),
        ))
        .execute(conn)?;
    Ok(())
}

/// Devices of users bound inside the scope (admins: all), most recently seen first.
pub fn list_in_scope(conn: &mut DbConn, scope: &Scope) -> StoreResult<Vec<Device>> {
    let mut query = devices::table
        .select(Device::as_select())
        .order((devices::last_seen_at.desc(), devices::id.asc()))
        .into_boxed();
    if let Some(in_scope) = scope.users_condition("devices.user_id") {
        query = query.filter(in_scope);
    }
    Ok(query.load(conn)?)
}

/// One device, only if its user is bound inside the scope.
pub fn find_in_scope(conn: &mut DbConn, scope: &Scope, id: &str) -> StoreResult<Option<Device>> {
    let mut query = devices::table
        .filter(devices::id.eq(id))
        .select(Device::as_select())
        .into_boxed();
    if let Some(in_scope) = scope.users_condition("devices.user_id") {
        query = query.filter(in_scope);
    }
    Ok(query.first(conn).optional()?)
}
