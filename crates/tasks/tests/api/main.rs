//! The tasks crate's single integration-test binary.

mod store;
