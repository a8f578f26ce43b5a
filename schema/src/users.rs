//! Users, their roles and the org nodes they are bound to.

use diesel::prelude::*;
use serde::Serialize;

use crate::error::StoreResult;
use crate::org;
use crate::scope::Scope;
use crate::tables::{user_org_nodes, users};
use crate::time::{now_micros, Micros};
use crate::DbConn;

pub use crate::domain::Role;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub must_change_password: bool,
    pub disabled: bool,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// A user as other users see it: no password hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub must_change_password: bool,
    pub disabled: bool,
    pub org_node_ids: Vec<String>,
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub must_change_password: bool,
}

pub fn create(conn: &mut DbConn, new: &NewUser<'_>) -> StoreResult<User> {
    let now = now_micros();
    let user = User {
        id: new.id.to_string(),
        username: new.username.to_string(),
        display_name: new.display_name.to_string(),
        password_hash: new.password_hash.to_string(),
        role: new.role,
        must_change_password: new.must_change_password,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(users::table)
        .values(&user)
        .execute(conn)?;
    Ok(user)
}

pub fn count(conn: &mut DbConn) -> StoreResult<i64> {
    Ok(users::table.count().get_result(conn)?)
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<User>> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_username(conn: &mut DbConn, username: &str) -> StoreResult<Option<User>> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn set_password(
    conn: &mut DbConn,
    id: &str,
    password_hash: &str,
    must_change: bool,
) -> StoreResult<bool> {
    let n = diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::must_change_password.eq(must_change),
            users::updated_at.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn update(
    conn: &mut DbConn,
    id: &str,
    display_name: Option<&str>,
    role: Option<Role>,
    disabled: Option<bool>,
) -> StoreResult<()> {
    let now = now_micros();
    if let Some(name) = display_name {
        diesel::update(users::table.find(id))
            .set((users::display_name.eq(name), users::updated_at.eq(now)))
            .execute(conn)?;
    }
    if let Some(role) = role {
        diesel::update(users::table.find(id))
            .set((users::role.eq(role), users::updated_at.eq(now)))
            .execute(conn)?;
    }
    if let Some(disabled) = disabled {
        diesel::update(users::table.find(id))
            .set((users::disabled.eq(disabled), users::updated_at.eq(now)))
            .execute(conn)?;
    }
    Ok(())
}

/// The org nodes a user is bound to.
pub fn org_node_ids(conn: &mut DbConn, user_id: &str) -> StoreResult<Vec<String>> {
    Ok(user_org_nodes::table
        .filter(user_org_nodes::user_id.eq(user_id))
        .select(user_org_nodes::org_node_id)
        .order(user_org_nodes::org_node_id.asc())
        .load(conn)?)
}

/// The active coordinators bound to a community, by username.
pub fn coordinators_of(conn: &mut DbConn, community_id: &str) -> StoreResult<Vec<String>> {
    Ok(user_org_nodes::table
        .inner_join(users::table)
        .filter(user_org_nodes::org_node_id.eq(community_id))
        .filter(users::role.eq(Role::Coordinator))
        .filter(users::disabled.eq(false))
        .order(users::username.asc())
        .select(users::id)
        .load(conn)?)
}

/// Replaces a user's org bindings.
pub fn set_org_nodes(conn: &mut DbConn, user_id: &str, node_ids: &[String]) -> StoreResult<()> {
    diesel::delete(user_org_nodes::table.filter(user_org_nodes::user_id.eq(user_id)))
        .execute(conn)?;
    for node_id in node_ids {
        diesel::insert_into(user_org_nodes::table)
            .values((
                user_org_nodes::user_id.eq(user_id),
                user_org_nodes::org_node_id.eq(node_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The scope a user acts in: admins see the whole tree, everyone else the subtrees of the
/// nodes they are bound to.
pub fn scope_for(conn: &mut DbConn, user_id: &str, role: Role) -> StoreResult<Scope> {
    if role == Role::Admin {
        return Ok(Scope::All);
    }
    let ids = org_node_ids(conn, user_id)?;
    Ok(Scope::Subtrees(org::paths_of(conn, &ids)?))
}

pub fn view(conn: &mut DbConn, user: &User) -> StoreResult<UserView> {
    Ok(UserView {
        id: user.id.clone(),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role,
        must_change_password: user.must_change_password,
        disabled: user.disabled,
        org_node_ids: org_node_ids(conn, &user.id)?,
    })
}

/// Users bound to at least one node inside the scope (admins: every user), by username.
pub fn list_in_scope(conn: &mut DbConn, scope: &Scope) -> StoreResult<Vec<User>> {
    let mut query = users::table
        .select(User::as_select())
        .order(users::username.asc())
        .into_boxed();
    if let Some(in_scope) = scope.users_condition("users.id") {
        query = query.filter(in_scope);
    }
    Ok(query.load(conn)?)
}
