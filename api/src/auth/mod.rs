//! Authentication: password hashing, access and refresh tokens, and the request extractor
//! that turns a bearer token into the caller (checked against the database every time).

pub mod caller;
pub mod login;
pub mod password;
pub mod throttling;
pub mod tokens;

pub use caller::{Caller, CallerAllowingPasswordChange};
pub use tokens::TokenKeys;
