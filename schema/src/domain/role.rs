//! Who a user is to the guide's work, and what each role may do: one table, so a route
//! names the permission it needs and never spells out a list of roles of its own.

crate::text_enum! {
    /// What a user does; decides which routes and fields they may use.
    pub enum Role {
        /// 劳动保障协理员: visits households in their own communities, on a phone.
        Coordinator = "coordinator",
        /// 基层平台工作人员: reviews what phones upload and keeps the station's case files.
        StationStaff = "station_staff",
        /// 街道/区 supervisors: check coverage and obligations in their street or district.
        Supervisor = "supervisor",
        /// Runs the system (users, the org tree, devices).
        Admin = "admin",
    }
}

/// Something a role may or may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Push and pull case files through the sync protocol (a phone, or staff's own device).
    Sync,
    /// Read case files (persons, households, records, reports) in scope.
    ReadCaseFiles,
    /// Create and edit case-file records through the API.
    EditCaseFiles,
    /// See a person's full ID number or phone, with a reason that is logged.
    RevealIdentity,
    /// Review evidence photos (approve, reject, ask for a retake).
    ReviewEvidence,
    /// Resolve merge conflicts and staff-locked proposals.
    ResolveConflicts,
    /// Check a signed commitment's seal against its values.
    CheckCommitments,
    /// Fetch original photos of records in scope (everyone may fetch their own uploads).
    ViewOriginals,
    /// List devices in scope.
    ViewDevices,
    /// Retire or revoke devices in scope.
    ManageDevices,
    /// Take a recognition step whose rules are not met, with a reason that is logged.
    OverrideGates,
    /// Read the access log (a supervisor bound to the whole district, checked by the route).
    ReadAccessLog,
    /// Users, roles, the org tree, password resets.
    Administer,
}

use Role::{Admin, Coordinator, StationStaff, Supervisor};

impl Permission {
    /// The roles that hold this permission.
    pub fn roles(self) -> &'static [Role] {
        match self {
            // Admins run the system and read no case file, by any road.
            Permission::Sync | Permission::ReadCaseFiles => {
                &[Coordinator, StationStaff, Supervisor]
            }
            Permission::EditCaseFiles | Permission::RevealIdentity => &[StationStaff, Supervisor],
            Permission::ReviewEvidence
            | Permission::ResolveConflicts
            | Permission::CheckCommitments
            | Permission::ViewOriginals => &[StationStaff, Supervisor],
            // The roles that take recognition steps; every override is in the access log
            // and the application's history.
            Permission::OverrideGates => &[StationStaff, Supervisor],
            // Who answers for the district's personal information; admins run the system
            // and read no case data, the log included.
            Permission::ReadAccessLog => &[Supervisor],
            Permission::ViewDevices => &[Admin, StationStaff, Supervisor],
            Permission::ManageDevices => &[Admin, StationStaff],
            Permission::Administer => &[Admin],
        }
    }

    /// What the permission allows, for a refusal's message.
    pub fn describe(self) -> &'static str {
        match self {
            Permission::Sync => "sync case files",
            Permission::ReadCaseFiles => "read case files",
            Permission::EditCaseFiles => "edit case files",
            Permission::RevealIdentity => "reveal ID numbers or phones",
            Permission::ReviewEvidence => "review evidence",
            Permission::ResolveConflicts => "resolve conflicts",
            Permission::CheckCommitments => "check commitments",
            Permission::ViewOriginals => "fetch original photos",
            Permission::OverrideGates => "pass a recognition rule with a reason",
            Permission::ReadAccessLog => "read the access log",
            Permission::ViewDevices => "list devices",
            Permission::ManageDevices => "manage devices",
            Permission::Administer => "administer the system",
        }
    }
}

impl Role {
    pub fn may(self, permission: Permission) -> bool {
        permission.roles().contains(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinators_read_their_case_files_but_edit_only_through_their_phones() {
        assert!(Coordinator.may(Permission::ReadCaseFiles));
        assert!(!Coordinator.may(Permission::EditCaseFiles));
        assert!(!Coordinator.may(Permission::RevealIdentity));
        assert!(!Coordinator.may(Permission::Administer));
    }

    #[test]
    fn admins_run_the_system_and_read_no_case_file() {
        assert!(Admin.may(Permission::Administer));
        assert!(Admin.may(Permission::ManageDevices));
        for case_data in [
            Permission::Sync,
            Permission::ReadCaseFiles,
            Permission::EditCaseFiles,
            Permission::RevealIdentity,
            Permission::ReviewEvidence,
            Permission::ResolveConflicts,
            Permission::CheckCommitments,
            Permission::ViewOriginals,
        ] {
            assert!(!Admin.may(case_data), "{case_data:?}");
        }
    }
}
