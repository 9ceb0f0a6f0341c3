//! A delivery that keeps failing is retried with backoff, then parked with its reason; an admin lists parked
//! deliveries and replays one, which makes it due again from its first attempt. The intake's use-cases over both
//! stores, with a projects (and auth) that cannot be reached, so every attempt fails for a reason that may pass.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use secrecy::SecretString;
use uuid::Uuid;

use devopstrack_platform::auth::{Principal, Role};
use devopstrack_proto::tasks::v1 as pb;
use devopstrack_tasks::app::TasksApp;
use devopstrack_tasks::app::intake::{Attempt, Intake, IntakeSettings};
use devopstrack_tasks::error::Error;
use devopstrack_tasks::projects::Projects;
use devopstrack_tasks::store::inbox::{InboxState, NewDelivery, Stores, connect_stores};

use super::{app, fixture};
use crate::helpers::{Backend, with_token};

fn principal(role: Role) -> Principal {
    Principal {
        subject: Uuid::now_v7().to_string(),
        role,
        name: "someone".into(),
        token_id: String::new(),
        expires_at: 0,
    }
}

/// The intake over `stores`, its peers unreachable, parking after two attempts.
fn intake(stores: Stores) -> Intake {
    let nowhere = "http://127.0.0.1:9";
    let projects = Projects::new(
        nowhere,
        nowhere,
        Duration::from_millis(200),
        "tasks",
        Some(SecretString::from("0123456789abcdef0123456789abcdef")),
    )
    .expect("clients");
    let app = Arc::new(TasksApp::new(stores.tasks, projects, TasksApp::system_clock()));
    let settings = IntakeSettings {
        max_attempts: 2,
        lease: TimeDelta::seconds(30),
        first_backoff: TimeDelta::milliseconds(10),
        max_backoff: TimeDelta::milliseconds(10),
    };
    Intake::new(app, stores.inbox, settings)
}

async fn a_delivery_failing_every_attempt_is_parked_listed_and_replayed(stores: Stores) {
    // Arrange
    let inbox = stores.inbox.clone();
    let intake = intake(stores);
    let record = NewDelivery {
        id: Uuid::now_v7(),
        project_id: "p".into(),
        project_slug: "api".into(),
        delivery_id: "d-park".into(),
        event: "workflow_run".into(),
        body: Some(fixture("workflow_run.completed.json")),
    };
    inbox.receive(&record, chrono::Utc::now()).await.expect("record");
    let (admin, operator) = (principal(Role::Admin), principal(Role::Operator));

    // Act: two failed attempts.
    let first = intake.take_due(10).await.expect("take");
    let first = intake.process(&first[0]).await.expect("attempt 1");
    tokio::time::sleep(Duration::from_millis(30)).await;
    let second = intake.take_due(10).await.expect("take");
    let second = intake.process(&second[0]).await.expect("attempt 2");
    tokio::time::sleep(Duration::from_millis(30)).await;
    let nothing_due = intake.take_due(10).await.expect("take");
    let parked = intake
        .list(&admin, Some(InboxState::Parked), 0, "")
        .await
        .expect("list");
    let refused = intake.list(&operator, Some(InboxState::Parked), 0, "").await;
    let replayed = intake.replay(&admin, &record.id.to_string()).await.expect("replay");
    let unknown = intake.replay(&admin, &record.id.to_string()).await;
    let due_again = intake.take_due(10).await.expect("take");

    // Assert
    assert!(matches!(first, Attempt::Retried(_)), "{first:?}");
    assert!(matches!(second, Attempt::Parked(_)), "{second:?}");
    assert!(nothing_due.is_empty(), "a parked delivery is not processed");
    assert_eq!(parked.deliveries.len(), 1);
    let listed = &parked.deliveries[0];
    assert_eq!(
        (listed.id, listed.attempts, listed.state),
        (record.id, 2, InboxState::Parked)
    );
    assert!(
        listed
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("service token")),
        "{listed:?}"
    );
    assert!(matches!(refused, Err(Error::PermissionDenied(_))), "{refused:?}");
    assert_eq!((replayed.state, replayed.attempts), (InboxState::Pending, 0));
    assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
    assert_eq!(due_again.iter().map(|d| d.id).collect::<Vec<_>>(), [record.id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_failing_every_attempt_is_parked_listed_and_replayed_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let url = format!("sqlite://{}/tasks.db", dir.path().display());
    let stores = connect_stores(&url, "", true).await.expect("open SQLite");
    a_delivery_failing_every_attempt_is_parked_listed_and_replayed(stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_failing_every_attempt_is_parked_listed_and_replayed_on_redis() {
    let Some(redis) = devopstrack_testkit::redis().await else {
        return;
    };
    let stores = connect_stores(&redis.url, &redis.prefix, true)
        .await
        .expect("connect to Redis");
    a_delivery_failing_every_attempt_is_parked_listed_and_replayed(stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_rpcs_are_for_admins_and_name_bad_input() {
    let Some(app) = app(Backend::Sqlite, true).await else {
        return;
    };
    let mut client = app.client.clone();
    let parked = |token: &str| {
        with_token(
            pb::ListWebhookDeliveriesRequest {
                state: pb::WebhookDeliveryState::Parked as i32,
                ..Default::default()
            },
            token,
        )
    };

    let page = client
        .list_webhook_deliveries(parked(&app.admin))
        .await
        .expect("an admin lists");
    let viewer = client
        .list_webhook_deliveries(parked(&app.viewer))
        .await
        .expect_err("a viewer");
    let no_state = client
        .list_webhook_deliveries(with_token(pb::ListWebhookDeliveriesRequest::default(), &app.admin))
        .await
        .expect_err("no state");
    let replay = |id: &str| with_token(pb::ReplayWebhookDeliveryRequest { id: id.into() }, &app.admin);
    let not_an_id = client
        .replay_webhook_delivery(replay("42"))
        .await
        .expect_err("not a UUID");
    let unknown = client
        .replay_webhook_delivery(replay(&Uuid::now_v7().to_string()))
        .await
        .expect_err("unknown");

    assert!(page.into_inner().deliveries.is_empty());
    assert_eq!(viewer.code(), tonic::Code::PermissionDenied);
    assert_eq!(no_state.code(), tonic::Code::InvalidArgument);
    assert!(no_state.message().starts_with("state:"), "{}", no_state.message());
    assert_eq!(not_an_id.code(), tonic::Code::InvalidArgument);
    assert!(not_an_id.message().starts_with("id:"), "{}", not_an_id.message());
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}
