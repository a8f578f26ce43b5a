//! Names a page shows for ids: users (by display name), devices and org nodes, each
//! looked up once per page.

use std::collections::HashMap;

use liuqing_schema::{devices, org, users, DbConn};

use crate::error::ApiError;

const UNKNOWN: &str = "（未知）";

#[derive(Default)]
pub struct Names {
    users: HashMap<String, String>,
    devices: HashMap<String, String>,
    nodes: HashMap<String, String>,
}

impl Names {
    pub fn user(&mut self, conn: &mut DbConn, id: Option<&str>) -> Result<String, ApiError> {
        let Some(id) = id else {
            return Ok(UNKNOWN.into());
        };
        if id == "server" {
            return Ok("系统".into());
        }
        if let Some(n) = self.users.get(id) {
            return Ok(n.clone());
        }
        let name = users::find(conn, id)?.map_or_else(|| UNKNOWN.into(), |u| u.display_name);
        self.users.insert(id.to_string(), name.clone());
        Ok(name)
    }

    pub fn device(&mut self, conn: &mut DbConn, id: Option<&str>) -> Result<String, ApiError> {
        let Some(id) = id else {
            return Ok(UNKNOWN.into());
        };
        if let Some(n) = self.devices.get(id) {
            return Ok(n.clone());
        }
        let name = devices::find(conn, id)?.map_or_else(|| UNKNOWN.into(), |d| d.name);
        self.devices.insert(id.to_string(), name.clone());
        Ok(name)
    }

    pub fn node(&mut self, conn: &mut DbConn, id: &str) -> Result<String, ApiError> {
        if let Some(n) = self.nodes.get(id) {
            return Ok(n.clone());
        }
        let name = org::find(conn, id)?.map_or_else(|| UNKNOWN.into(), |n| n.name);
        self.nodes.insert(id.to_string(), name.clone());
        Ok(name)
    }
}
