//! Households: search (address, community, open zero-employment), one household with its
//! members, visits and tasks, and staff edits.

use actix_web::{web, HttpResponse};
use liuqing_schema::casefile::{self, HouseholdFilter};
use liuqing_schema::domain::Permission;
use liuqing_schema::entities::Entity;
use liuqing_schema::DbConn;
use serde::{Deserialize, Serialize};

use super::casework::record_in_scope;
use super::views::{self, PersonItem, RecordView};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::paging;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub community_id: Option<String>,
    /// Part of the address.
    pub address: Option<String>,
    /// `true`: only zero-employment households not yet cleared.
    pub zero_employment_open: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.db.run(move |conn| list_of(conn, &caller, q)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A page of the households of the caller's scope that `q` asks for (the API's list and
/// the console's).
pub(crate) fn list_of(
    conn: &mut DbConn,
    caller: &Caller,
    q: ListQuery,
) -> Result<views::Page<views::HouseholdItem>, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let limit = paging::limit(q.limit)?;
    let after = paging::decode(q.cursor.as_deref())?;
    if q.address.as_ref().is_some_and(|a| a.chars().count() > 200) {
        return Err(ApiError::validation(
            "address",
            "must be at most 200 characters",
        ));
    }
    let filter = HouseholdFilter {
        community_id: q.community_id,
        address: q.address.filter(|a| !a.trim().is_empty()),
        zero_employment_open: q.zero_employment_open,
    };
    let scope = caller.scope(conn)?;
    let page = casefile::list_households(conn, &scope, &filter, after.as_ref(), limit)?;
    Ok(views::Page {
        items: page.items.iter().map(views::household_item).collect(),
        next_cursor: page.next.as_ref().map(paging::encode),
    })
}

/// A household with its members, visits and tasks (`HouseholdFile` in openapi.yaml).
#[derive(Serialize)]
struct HouseholdFile {
    household: RecordView,
    members: Vec<PersonItem>,
    visits: Vec<RecordView>,
    tasks: Vec<RecordView>,
}

pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let birth_dates = caller.birth_dates();
    caller.require(Permission::ReadCaseFiles)?;
    let id = id.into_inner();
    let today = state.config.today();
    let household = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            let rec = record_in_scope(conn, &scope, Entity::Household, &id)?;
            let members = casefile::household_members(conn, &id)?
                .iter()
                .map(|p| views::person_item(p, today, birth_dates))
                .collect::<Result<_, _>>()?;
            let records_of = |conn: &mut DbConn, entity| -> Result<Vec<RecordView>, ApiError> {
                casefile::children_of(conn, &id, entity)?
                    .iter()
                    .map(|r| views::record(r, birth_dates))
                    .collect()
            };
            let visits = records_of(conn, Entity::Visit)?;
            let tasks = records_of(conn, Entity::Task)?;
            Ok(HouseholdFile {
                household: views::record(&rec, birth_dates)?,
                members,
                visits,
                tasks,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(household))
}
