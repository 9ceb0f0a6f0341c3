//! What a cached answer is keyed on and what still guards it: the role check runs on every call, and the pages of
//! one listing are cached apart.

use devopstrack_platform::auth::Role;
use devopstrack_projects::app::ProjectQuery;
use devopstrack_projects::error::Error;

use super::{LONG_TTL, Replicas, admin, all, new_project, principal, reads, slugs, viewer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_answer_still_needs_the_role() {
    // Arrange
    let replicas = Replicas::new();
    let app = replicas.app(LONG_TTL).await;
    app.create_project(&admin(), new_project("api")).await.unwrap();
    reads(&app, "api").await;
    let service = principal(Role::Service);

    // Act
    let got = app.get_project(&service, "api").await;
    let listed = app.list_projects(&service, all()).await;
    let states = app.environment_states(&service, "api").await;

    // Assert
    // GetProject is open to the service role (tasks looks projects up as its caller); the other reads are not.
    assert!(got.is_ok(), "{got:?}");
    assert!(matches!(listed, Err(Error::PermissionDenied(_))), "{listed:?}");
    assert!(matches!(states, Err(Error::PermissionDenied(_))), "{states:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_one_listing_are_cached_apart() {
    // Arrange
    let replicas = Replicas::new();
    let app = replicas.app(LONG_TTL).await;
    for slug in ["alpha", "bravo", "charlie"] {
        app.create_project(&admin(), new_project(slug)).await.unwrap();
    }
    let first_query = || ProjectQuery {
        page_size: 2,
        ..Default::default()
    };

    // Act
    let first = app.list_projects(&viewer(), first_query()).await.unwrap();
    let token = first.next_page_token.clone().expect("a second page");
    let second = slugs(
        &app,
        ProjectQuery {
            page_token: token,
            ..first_query()
        },
    )
    .await;
    let descending = slugs(
        &app,
        ProjectQuery {
            order_by: "-slug".into(),
            ..first_query()
        },
    )
    .await;
    let first_again = slugs(&app, first_query()).await;

    // Assert
    assert_eq!(first_again, ["alpha", "bravo"]);
    assert_eq!(second, ["charlie"]);
    assert_eq!(descending, ["charlie", "bravo"]);
}
