//! Unit tests of the WebSocket messages: parsing what clients send, topics, and the JSON of what the server sends.

use serde_json::json;

use devopstrack_proto::tasks::v1 as pb;

use super::*;

#[test]
fn client_messages_parse_by_type() {
    let cases = [
        (
            r#"{"type":"auth","token":"t"}"#,
            ClientMessage::Auth { token: "t".into() },
        ),
        (
            r#"{"type":"subscribe","topics":["project:api"]}"#,
            ClientMessage::Subscribe {
                topics: vec!["project:api".into()],
                after: Default::default(),
            },
        ),
        (
            r#"{"type":"subscribe","topics":["room:general"],"after":{"room:general":12}}"#,
            ClientMessage::Subscribe {
                topics: vec!["room:general".into()],
                after: [("room:general".to_owned(), 12)].into(),
            },
        ),
        (
            r#"{"type":"chat.send","room":"general","clientMsgId":"c1","text":"help"}"#,
            ClientMessage::ChatSend {
                room: "general".into(),
                client_msg_id: "c1".into(),
                text: "help".into(),
            },
        ),
        (
            r#"{"type":"chat.decide","actionId":"a","decision":"confirm"}"#,
            ClientMessage::ChatDecide {
                action_id: "a".into(),
                decision: "confirm".into(),
            },
        ),
        (
            r#"{"type":"unsubscribe","topics":[]}"#,
            ClientMessage::Unsubscribe { topics: vec![] },
        ),
        (r#"{"type":"ping"}"#, ClientMessage::Ping),
    ];
    for (text, expected) in cases {
        assert_eq!(ClientMessage::parse(text), Ok(expected), "{text}");
    }
}

#[test]
fn bad_messages_are_told_apart_from_non_json() {
    let invalid = [
        (r#"{"type":"chat.typing","text":"hi"}"#, r#"unknown type "chat.typing""#),
        (r#"{"type":"chat.send","text":"hi"}"#, "missing field `room`"),
        (r#"{"type":7}"#, "type: expected a string"),
        (r#"{"type":"ping","extra":true}"#, "unknown field `extra`"),
        (r#"{"type":"subscribe","topics":"project:api"}"#, "topics: invalid type"),
        (r#"{"type":"auth"}"#, "missing field `token`"),
        (r#"{"type":"auth","token":"t","extra":1}"#, "unknown field `extra`"),
        (r#"{"token":"t"}"#, "missing field `type`"),
        (r#"[1,2]"#, "expected an object"),
    ];
    for (text, expected) in invalid {
        match ClientMessage::parse(text) {
            Err(ParseError::Invalid(message)) => assert!(message.contains(expected), "{text}: {message}"),
            other => panic!("{text}: expected Invalid, got {other:?}"),
        }
    }
    for text in ["hello", "{\"type\":", "", "{} trailing"] {
        assert!(
            matches!(ClientMessage::parse(text), Err(ParseError::NotJson(_))),
            "{text:?}"
        );
    }
}

#[test]
fn topics_are_a_project_slug_or_a_pipeline_uuid() {
    let id = "0190f5a4-8d3c-7c4e-9a1b-2c3d4e5f6a7b";
    assert_eq!(Topic::parse("project:api"), Ok(Topic::Project("api".into())));
    assert_eq!(Topic::parse("pipelines"), Ok(Topic::All));
    assert!(!Topic::All.watch_request(String::new()).include_logs);
    assert_eq!(Topic::All.to_string(), "pipelines");
    assert_eq!(
        Topic::parse(&format!("pipeline:{}", id.to_uppercase())),
        Ok(Topic::Pipeline(id.into()))
    );
    for bad in [
        "project:",
        "project:a",
        "project:API",
        "project:-api",
        "project:api/x",
        "pipeline:42",
        "pipelines:x",
        "api",
        "",
        "job:1",
    ] {
        assert!(Topic::parse(bad).is_err(), "{bad:?}");
    }
    let request = Topic::parse(&format!("pipeline:{id}"))
        .unwrap()
        .watch_request("e-9".into());
    assert_eq!(
        (
            request.project.as_str(),
            request.pipeline_id.as_str(),
            request.after_event_id.as_str(),
            request.include_logs
        ),
        ("", id, "e-9", true)
    );
}

#[test]
fn events_become_typed_messages_with_the_rest_shapes() {
    let topic = Topic::Project("api".into());
    let pipeline = pb::Pipeline {
        id: "p-1".into(),
        project: "api".into(),
        status: pb::PipelineStatus::Running as i32,
        commit_sha: "3484a3fb816e".into(),
        ..Default::default()
    };
    let job = pb::Job {
        id: "j-1".into(),
        attempt: 2,
        status: pb::JobStatus::Running as i32,
        ..Default::default()
    };
    let event = |t: pb::EventType, job: Option<pb::Job>| pb::Event {
        id: "e-1".into(),
        r#type: t as i32,
        pipeline: Some(pipeline.clone()),
        job,
        log_lines: vec!["line 1".into(), "line 2".into()],
        log_offset: 10,
        ..Default::default()
    };

    let json = |m: Option<ServerMessage>| serde_json::to_value(m.expect("a message")).unwrap();
    let updated = json(ServerMessage::from_event(
        event(pb::EventType::PipelineUpdated, None),
        &topic,
    ));
    let job_updated = json(ServerMessage::from_event(
        event(pb::EventType::JobUpdated, Some(job.clone())),
        &topic,
    ));
    let log = json(ServerMessage::from_event(
        event(pb::EventType::JobLog, Some(job)),
        &topic,
    ));

    assert_eq!(
        (&updated["type"], &updated["eventId"], &updated["topic"]),
        (&json!("pipeline.updated"), &json!("e-1"), &json!("project:api"))
    );
    assert_eq!(updated["pipeline"]["status"], "running");
    assert_eq!(
        updated["pipeline"]["commit"],
        json!({"sha": "3484a3fb816e", "time": null}),
        "the REST shape's commit"
    );
    assert_eq!(
        (&job_updated["type"], &job_updated["job"]["status"]),
        (&json!("job.updated"), &json!("running"))
    );
    assert_eq!(
        log,
        json!({"type": "job.log", "eventId": "e-1", "topic": "project:api", "pipelineId": "p-1",
               "jobId": "j-1", "attempt": 2, "offset": 10, "lines": ["line 1", "line 2"]})
    );
    assert!(ServerMessage::from_event(event(pb::EventType::JobUpdated, None), &topic).is_none());
    assert!(ServerMessage::from_event(event(pb::EventType::Unspecified, None), &topic).is_none());
}

#[test]
fn replies_are_tagged_by_type() {
    let to_json = |m: ServerMessage| serde_json::to_value(m).unwrap();
    assert_eq!(to_json(ServerMessage::Pong), json!({"type": "pong"}));
    assert_eq!(
        to_json(ServerMessage::error("bad")),
        json!({"type": "error", "message": "bad"})
    );
    assert_eq!(
        to_json(ServerMessage::Subscribed {
            topic: "project:api".into()
        }),
        json!({"type": "subscribed", "topic": "project:api"})
    );
}
