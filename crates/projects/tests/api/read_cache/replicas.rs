//! Writes of another replica (a second app on the same database): served from the cache until the TTL has passed,
//! at once when the TTL is zero.

use std::time::Duration;

use super::{Replicas, admin, assert_reads_show, new_project, reads, rename};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replicas_write_shows_once_the_ttl_has_passed() {
    // Arrange
    let replicas = Replicas::new();
    let cached = replicas.app(Duration::from_secs(1)).await;
    let other = replicas.app(Duration::ZERO).await;
    let created = other.create_project(&admin(), new_project("api")).await.unwrap();
    let before = reads(&cached, "api").await;

    // Act
    let renamed = other
        .update_project(&admin(), "api", rename(created.project.version, "Renamed"))
        .await
        .unwrap();
    let within_ttl = reads(&cached, "api").await;
    replicas.clock.advance(Duration::from_secs(1));
    let after_ttl = reads(&cached, "api").await;

    // Assert
    assert_eq!(within_ttl, before, "within the TTL every read is served from the cache");
    for seen in after_ttl {
        assert_eq!(seen, renamed, "after the TTL every read goes to the store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_zero_ttl_another_replicas_write_shows_at_once() {
    // Arrange
    let replicas = Replicas::new();
    let uncached = replicas.app(Duration::ZERO).await;
    let other = replicas.app(Duration::ZERO).await;
    let created = other.create_project(&admin(), new_project("api")).await.unwrap();
    reads(&uncached, "api").await;

    // Act
    let renamed = other
        .update_project(&admin(), "api", rename(created.project.version, "Renamed"))
        .await
        .unwrap();

    // Assert
    assert_reads_show(&uncached, &renamed).await;
}
