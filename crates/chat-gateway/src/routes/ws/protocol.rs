//! The messages of `/api/v1/ws`: JSON text frames tagged by `type`. [`ClientMessage`] is what a browser may send,
//! [`ServerMessage`] what it receives; both are open enums (the chat adds its own types later), and an unknown `type`
//! is answered with an `error` message, not a close. Live events reuse the REST shapes
//! ([`PipelineBody`](crate::routes::pipelines::dto::PipelineBody), [`JobBody`](crate::routes::pipelines::dto::JobBody)).

mod client;
mod server;
#[cfg(test)]
mod tests;
mod topic;

pub use self::client::{ClientMessage, ParseError};
pub use self::server::ServerMessage;
pub use self::topic::Topic;

/// Close codes this endpoint uses besides the standard ones (1000 normal, 1001 going away, 1003 unsupported data,
/// 1007 invalid UTF-8, 1009 too big, 1011 server error, 1013 try again later).
pub mod close {
    /// No `auth` message first, within the deadline; a bad or expired token.
    pub const UNAUTHENTICATED: u16 = 4401;
    /// The client reads more slowly than its events arrive: its outbound queue overflowed.
    pub const TOO_SLOW: u16 = 4408;
    /// The user holds the most sockets allowed (`ws_max_per_user`) already.
    pub const TOO_MANY_SOCKETS: u16 = 4429;
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const UNSUPPORTED_DATA: u16 = 1003;
    pub const INVALID_DATA: u16 = 1007;
    pub const TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
}
