//! The replica's ear: one connection LISTENing on the chat channel, turning each NOTIFY into a [`ChangeNotice`] for
//! this process's subscribers. When the connection is lost it reconnects (backing off up to 5 s) and, once it
//! listens again, tells subscribers to `Resync`: notices sent in between are gone for good.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::task::JoinHandle;

use devopstrack_peers::Backoff;

use crate::chat::store::StoreResult;
use crate::chat::store::feed::{CHANNEL, ChangeNotice, Hub};

const MAX_RETRY: Duration = Duration::from_secs(5);
/// The wait before listening again after the connection was lost.
const RETRY: Backoff = Backoff::new(Duration::from_millis(100), MAX_RETRY);

/// Listens on a connection of its own (not one of `pool`'s: a held LISTEN connection must not starve queries) and
/// returns once LISTEN is in place, so no commit after this call is missed.
pub(super) async fn start(pool: &PgPool, hub: Hub) -> StoreResult<JoinHandle<()>> {
    let options = (*pool.connect_options()).clone();
    let own = PgPoolOptions::new()
        .max_connections(2)
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(MAX_RETRY)
        .connect_lazy_with(options);
    let listener = listen(&own).await?;
    Ok(tokio::spawn(run(listener, own, hub)))
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // A lost connection is reported (`Ok(None)`) rather than silently replaced: `run` must know to send `Resync`.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

async fn run(mut listener: PgListener, pool: PgPool, hub: Hub) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match ChangeNotice::from_payload(notification.payload()) {
                Some(notice) => hub.publish(notice),
                None => tracing::warn!(
                    payload = notification.payload(),
                    "ignoring a chat notice this version does not know"
                ),
            },
            Ok(None) | Err(_) => {
                tracing::warn!("the chat store's change listener lost its connection; reconnecting");
                drop(listener);
                listener = reconnect(&pool).await;
                tracing::info!("the chat store's change listener is back; subscribers resync");
                hub.publish(ChangeNotice::Resync);
            }
        }
    }
}

async fn reconnect(pool: &PgPool) -> PgListener {
    let mut delays = RETRY.delays();
    loop {
        match listen(pool).await {
            Ok(listener) => return listener,
            Err(error) => {
                let delay = delays.next_delay();
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "cannot listen for chat changes yet");
                tokio::time::sleep(delay).await;
            }
        }
    }
}
