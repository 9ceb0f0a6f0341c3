//! Where a credential was presented from, for the throttle.
//!
//! A login's `client_address` is believed only when the call carries a service token of a client in
//! [`LOGIN_FORWARDERS`] (the gateway, which saw the browser's connection and applies its own proxy rules). From anyone
//! else it is ignored and the transport peer is the source, so a caller cannot choose the address it is throttled
//! under. Other credentials (service secrets, a current password) count by the transport peer.

use std::net::IpAddr;

use tonic::Request;

use devopstrack_platform::auth::{JwtVerifier, LOGIN_FORWARDERS};
use devopstrack_proto::auth::v1 as pb;

use crate::app::Source;
use crate::error::Error;

/// The transport peer's address.
pub(super) fn peer<T>(request: &Request<T>) -> Source {
    request.remote_addr().map(|a| a.ip())
}

/// The login's source: the forwarded client address from a trusted forwarder, else the peer.
pub(super) async fn of_login(verifier: &JwtVerifier, request: &Request<pb::LoginRequest>) -> Result<Source, Error> {
    let claimed = request.get_ref().client_address.trim();
    if claimed.is_empty() {
        return Ok(peer(request));
    }
    let forwarder = match verifier.verify_metadata(request.metadata()).await {
        Ok(principal) => principal
            .service_client()
            .is_some_and(|client| LOGIN_FORWARDERS.contains(&client)),
        Err(error) => {
            tracing::debug!(%error, "a login's client_address without a forwarder's token: using the peer address");
            false
        }
    };
    if !forwarder {
        return Ok(peer(request));
    }
    claimed
        .parse::<IpAddr>()
        .map(Some)
        .map_err(|_| Error::invalid("client_address", "is not an IP address"))
}
