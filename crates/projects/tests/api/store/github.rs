//! The GitHub integration: a project's sealed webhook secret (stored, replaced, deleted with the project). Delivery
//! ids are tasks' webhook inbox's to keep (its conformance suite is `crates/tasks/tests/api/store/inbox.rs`).

use std::sync::Arc;

use devopstrack_projects::domain::GithubIntegrationRecord;
use devopstrack_projects::store::ProjectStore;
use uuid::Uuid;

use super::{at, seeded_project};

conformance!(an_integration_is_stored_replaced_and_deleted_with_its_project);

fn integration(project_id: Uuid, sealed: &[u8], seconds: i64) -> GithubIntegrationRecord {
    GithubIntegrationRecord {
        project_id,
        sealed_secret: sealed.to_vec(),
        updated_at: at(seconds),
    }
}

async fn an_integration_is_stored_replaced_and_deleted_with_its_project(store: Arc<dyn ProjectStore>) {
    // Arrange
    let (one, two) = (
        seeded_project(store.as_ref(), "one").await,
        seeded_project(store.as_ref(), "two").await,
    );
    // Every byte value, so a store that keeps text instead of bytes fails.
    let first = integration(one.id, &(0..=255).collect::<Vec<u8>>(), 1);
    let second = integration(one.id, &[1, 0, 0, 7], 2);

    // Act
    store
        .put_github_integration(&first)
        .await
        .expect("store the integration");
    let stored = store.github_integration(one.id).await.expect("read it");
    store.put_github_integration(&second).await.expect("replace it");
    let replaced = store.github_integration(one.id).await.expect("read it again");
    let other = store.github_integration(two.id).await.expect("another project");
    assert!(store.delete_project(one.id).await.expect("delete the project"));

    // Assert
    assert_eq!(stored, Some(first));
    assert_eq!(replaced, Some(second));
    assert_eq!(other, None);
    assert_eq!(store.github_integration(one.id).await.expect("read after delete"), None);
}
