//! The composer's previews (`POST /chat/parse`, sent as a person types) call the optional model within a per-person
//! budget: beyond it a preview answers from the rules alone (`parsedBy: rules`, 200), the model is not called, other
//! people keep their own budget, and a posted message is not a preview.

use secrecy::SecretString;
use serde_json::{Value, json};

use super::fake_llm::{FakeLlm, Reply};
use crate::helpers::{PROJECT, spawn_stack_with};

/// What the rules alone do not decide and the fake model reads as a deploy.
const UNDECIDED: &str = "yo shove 2.5.0 out onto prod";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_beyond_the_model_budget_answer_from_the_rules_without_calling_the_model() {
    // Arrange
    let fake = FakeLlm::start(|_| {
        Reply::proposing(json!({"intent": "deploy", "project": "api", "version": "2.5.0", "environment": "prod"}))
    })
    .await;
    let (app, _) = spawn_stack_with(|settings| {
        settings.chat_llm_url = Some(fake.url.clone());
        settings.chat_llm_model = Some("fake-model".into());
        settings.chat_llm_api_key = Some(SecretString::from("sk-test-budget"));
    })
    .await;
    let admin = app.admin_token().await;
    let (_, operator) = app.user_with_token(&admin, "op@example.com", "operator").await;
    let room = format!("project:{PROJECT}");
    let preview = |token: String| {
        let (app, room) = (&app, room.clone());
        async move {
            let response = app
                .post_json(
                    "/api/v1/chat/parse",
                    Some(&token),
                    &json!({"text": UNDECIDED, "room": room}),
                )
                .await;
            assert_eq!(response.status().as_u16(), 200);
            response.json::<Value>().await.unwrap()["parsedBy"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };

    // Act: twelve previews by the operator, then one by the admin.
    let mut by = Vec::new();
    for _ in 0..12 {
        by.push(preview(operator.clone()).await);
    }
    let admin_s = preview(admin.clone()).await;

    // Assert
    assert_eq!(by[..10], ["llm"; 10], "{by:?}");
    assert_eq!(by[10..], ["rules"; 2], "beyond the budget the rules answer: {by:?}");
    assert_eq!(
        fake.seen().len(),
        11,
        "ten of the operator's previews and the admin's called the model"
    );
    assert_eq!(admin_s, "llm", "another person has a budget of their own");
    // A posted message is not a preview: the model still reads it (messages have their own limit).
    let (status, posted) = app.say(&operator, &room, UNDECIDED).await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(fake.seen().len(), 12);
}
