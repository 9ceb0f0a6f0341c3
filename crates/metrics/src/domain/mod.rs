//! Events as stored and the pure computations over them: DORA ([`dora`]), the dashboard's series ([`series`]), the
//! shared order statistics ([`stats`]) and the field rules for incoming events ([`validate`]). No I/O here.

pub mod dora;
mod events;
pub mod series;
pub mod stats;
pub mod validate;

pub use events::*;
