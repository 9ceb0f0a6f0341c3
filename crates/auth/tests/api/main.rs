//! The auth crate's single integration-test binary.

mod api_tokens;
mod helpers;
mod keys;
mod login;
mod outage;
mod reflection;
mod sessions;
mod store;
mod tokens;
mod user_names;
mod users;
