//! The JWKS every token verifier caches, fetched from auth's `GetJwks`: one idempotent read, retried when auth blinks
//! (see [`retry_idempotent`]). The cache itself (key rotation, the unknown-`kid` refresh and its rate limit, expiry)
//! is platform's [`JwtVerifier`]; this is where its keys come from.

use std::future::Future;
use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;

use devopstrack_platform::auth::{Jwk, JwksFetcher, JwtVerifier};
use devopstrack_platform::grpc::retry_idempotent;
use devopstrack_platform::metrics::MetricsRegistry;
use devopstrack_proto::auth::v1 as auth_pb;

use crate::clients::AuthClient;
use crate::settings::ServiceSettings;

/// A [`JwksFetcher`] that asks auth's `GetJwks` through `auth`.
pub fn from_auth(auth: AuthClient) -> JwksFetcher {
    fetcher(move || {
        let mut auth = auth.clone();
        async move { Ok(auth.get_jwks(auth_pb::GetJwksRequest {}).await?.into_inner().keys) }
    })
}

/// A verifier of the access tokens for `settings`' issuer and audience, with keys from auth. Each failed fetch of
/// the keys counts in `devopstrack_jwks_refresh_failures_total` of `registry` (the alert on it says a service cannot
/// verify new tokens).
pub fn verifier(settings: &ServiceSettings, auth: AuthClient, registry: &MetricsRegistry) -> JwtVerifier {
    let failures = Counter::default();
    registry.register(
        "devopstrack_jwks_refresh_failures",
        "Fetches of auth's signing keys (JWKS) that failed after their retries",
        failures.clone(),
    );
    JwtVerifier::new(&settings.issuer, &settings.audience, counted(from_auth(auth), failures))
}

/// `fetcher`, counting its failures in `failures`.
pub fn counted(fetcher: JwksFetcher, failures: Counter) -> JwksFetcher {
    Arc::new(move || {
        let (fetcher, failures) = (fetcher.clone(), failures.clone());
        Box::pin(async move {
            let keys = fetcher().await;
            if keys.is_err() {
                failures.inc();
            }
            keys
        })
    })
}

/// A [`JwksFetcher`] over one `GetJwks` call: retried on UNAVAILABLE, its keys turned into [`Jwk`]s.
pub fn fetcher<F, Fut>(get_jwks: F) -> JwksFetcher
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<auth_pb::Jwk>, tonic::Status>> + Send + 'static,
{
    let get_jwks = Arc::new(get_jwks);
    Arc::new(move || {
        let get_jwks = get_jwks.clone();
        Box::pin(async move {
            let keys = retry_idempotent(|| get_jwks())
                .await
                .map_err(|s| format!("auth GetJwks: {:?} {}", s.code(), s.message()))?;
            Ok(keys.into_iter().map(jwk).collect())
        })
    })
}

fn jwk(key: auth_pb::Jwk) -> Jwk {
    Jwk {
        kty: key.kty,
        crv: key.crv,
        x: key.x,
        kid: key.kid,
        alg: key.alg,
        use_: key.r#use,
    }
}

#[cfg(test)]
mod tests;
