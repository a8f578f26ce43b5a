//! Domain rules of employment assistance, as pure functions and types: no database, no
//! HTTP. Each module holds one rule from the guide (see `domain.md`) with its tests.
//! Values that exist are valid (`IdNumber`, `MobilePhone`); states and transitions are
//! closed enums, so callers cannot invent new ones.

pub mod account;
pub mod calendar;
pub mod case_rules;
pub mod category;
pub mod credit_code;
pub mod dates;
pub mod eligibility;
pub mod exits;
pub mod follow_ups;
pub mod gates;
pub mod id_number;
pub mod matching;
pub mod months;
pub mod obligations;
pub mod phone;
pub mod recognition;
pub mod retirement;
pub mod role;
pub mod six_clears;
pub mod subsidies;
pub mod text;
pub mod visit_flags;
pub mod zero_employment;

pub use calendar::WorkCalendar;
pub use category::{one_time_notice, Category, EvidenceType, MissingMaterial, ALWAYS_REQUIRED};
pub use credit_code::{CreditCode, CreditCodeError};
pub use eligibility::{age_on, long_term_unemployed, older_worker};
pub use exits::{is_exit_candidate, ExitReason};
pub use id_number::{IdNumber, IdNumberError, Sex};
pub use obligations::{
    obligations, ObligationItem, ObligationState, ObligationStatus, ServiceKind, Tier,
};
pub use phone::{MobilePhone, PhoneError};
pub use recognition::{
    publicity_ends, transition, RecognitionAction, RecognitionState, TransitionError,
};
pub use role::{Permission, Role};
