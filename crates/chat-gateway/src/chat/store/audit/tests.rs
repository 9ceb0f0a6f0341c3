use chrono::DateTime;
use serde_json::json;

use super::*;

fn record(details: serde_json::Value) -> NewAuditRecord {
    NewAuditRecord {
        at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
        actor: AuditActor {
            subject: "u1".into(),
            name: "Ann".into(),
            role: Some(Role::Operator),
        },
        kind: "http.POST /api/v1/pipelines".into(),
        target: "/api/v1/pipelines".into(),
        result: "201".into(),
        source: Some("203.0.113.7".into()),
        request_id: Some("req-1".into()),
        details,
    }
}

#[test]
fn details_are_stored_as_canonical_json_whatever_the_key_order() {
    let a = record(json!({"b": 1, "a": {"y": [1, "x"], "x": null}}))
        .into_row(0, GENESIS_HASH)
        .unwrap();
    let b = record(json!({"a": {"x": null, "y": [1, "x"]}, "b": 1}))
        .into_row(0, GENESIS_HASH)
        .unwrap();
    assert_eq!(a.details, r#"{"a":{"x":null,"y":[1,"x"]},"b":1}"#);
    assert_eq!((a.details, a.hash), (b.details, b.hash));
}

#[test]
fn every_field_and_the_previous_hash_change_the_hash() {
    let base = record(json!({})).into_row(0, GENESIS_HASH).unwrap();
    let variants = [
        RawAuditRow { seq: 2, ..base.clone() },
        RawAuditRow {
            at_micros: base.at_micros + 1,
            ..base.clone()
        },
        RawAuditRow {
            actor_id: "u2".into(),
            ..base.clone()
        },
        RawAuditRow {
            actor_name: "Anne".into(),
            ..base.clone()
        },
        RawAuditRow {
            actor_role: None,
            ..base.clone()
        },
        RawAuditRow {
            kind: "http.PUT".into(),
            ..base.clone()
        },
        RawAuditRow {
            target: "/x".into(),
            ..base.clone()
        },
        RawAuditRow {
            result: "500".into(),
            ..base.clone()
        },
        RawAuditRow {
            source: None,
            ..base.clone()
        },
        RawAuditRow {
            request_id: Some(String::new()),
            ..base.clone()
        },
        RawAuditRow {
            details: "{\"a\":1}".into(),
            ..base.clone()
        },
        RawAuditRow {
            prev_hash: "1".repeat(64),
            ..base.clone()
        },
    ];
    for variant in variants {
        assert_ne!(variant.computed_hash(), base.hash, "{variant:?}");
    }
    // Moving bytes between adjacent fields changes it too: the fields are length-prefixed.
    let shifted = RawAuditRow {
        actor_id: "u1A".into(),
        actor_name: "nn".into(),
        ..base.clone()
    };
    assert_ne!(shifted.computed_hash(), base.hash);
}

#[test]
fn secret_looking_fields_and_credentials_are_refused_anywhere_in_details() {
    let refused = [
        (json!({"password": "x"}), "details.password"),
        (json!({"newPassword": "x"}), "details.newPassword"),
        (json!({"outer": {"api_token": "x"}}), "details.outer.api_token"),
        (json!({"list": [{"clientSecret": 1}]}), "details.list[0].clientSecret"),
        (json!({"Authorization": "x"}), "details.Authorization"),
        (json!({"API-KEY": "x"}), "details.API-KEY"),
        (json!({"header": "Bearer abc.def"}), "details.header"),
        (json!({"created": "dtk_0123456789"}), "details.created"),
        (
            json!({"x": ["eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlc2lnbmF0dXJl"]}),
            "details.x[0]",
        ),
    ];
    for (details, field) in refused {
        let error = record(details.clone())
            .into_row(0, GENESIS_HASH)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with(&format!("{field}:")), "{details}: {error}");
    }
    assert!(
        record(json!({"intent": "deploy", "count": 2}))
            .into_row(0, GENESIS_HASH)
            .is_ok()
    );
}

#[test]
fn bad_fields_are_refused_with_their_name() {
    let cases = [
        (
            NewAuditRecord {
                kind: String::new(),
                ..record(json!({}))
            },
            "kind:",
        ),
        (
            NewAuditRecord {
                target: "x\ny".into(),
                ..record(json!({}))
            },
            "target:",
        ),
        (
            NewAuditRecord {
                result: "r".repeat(65),
                ..record(json!({}))
            },
            "result:",
        ),
        (
            NewAuditRecord {
                source: Some(" ".into()),
                ..record(json!({}))
            },
            "source:",
        ),
        (
            NewAuditRecord {
                request_id: Some("\u{7}".into()),
                ..record(json!({}))
            },
            "requestId:",
        ),
        (record(json!([1])), "details:"),
        (record(json!({"big": "x".repeat(9_000)})), "details:"),
    ];
    for (bad, field) in cases {
        let error = bad.clone().into_row(0, GENESIS_HASH).unwrap_err().to_string();
        assert!(error.starts_with(field), "{bad:?}: {error}");
    }
}

#[test]
fn verification_steps_name_a_gap_a_foreign_link_and_an_altered_record() {
    let first = record(json!({})).into_row(0, GENESIS_HASH).unwrap();
    let second = record(json!({"n": 2})).into_row(1, &first.hash).unwrap();
    assert_eq!(check_link(&first, 1, GENESIS_HASH), None);
    assert_eq!(check_link(&second, 2, &first.hash), None);
    assert!(
        check_link(&second, 1, GENESIS_HASH)
            .unwrap()
            .problem
            .starts_with("missing")
    );
    assert!(
        check_link(&second, 2, GENESIS_HASH)
            .unwrap()
            .problem
            .contains("previous hash")
    );
    let altered = RawAuditRow {
        result: "200".into(),
        ..second.clone()
    };
    assert!(
        check_link(&altered, 2, &first.hash)
            .unwrap()
            .problem
            .contains("altered")
    );
    assert_eq!(check_head((2, &second.hash), (2, &second.hash)), None);
    assert_eq!(check_head((3, "x"), (2, &second.hash)).unwrap().seq, 3);
    assert_eq!(check_head((2, "x"), (2, &second.hash)).unwrap().seq, 2);
}

#[test]
fn stored_rows_read_back_as_records() {
    let row = record(json!({"a": 1})).into_row(4, GENESIS_HASH).unwrap();
    let back = row.clone().into_record().unwrap();
    assert_eq!(
        (back.seq, back.actor.role, back.details),
        (5, Some(Role::Operator), json!({"a": 1}))
    );
    let corrupt = RawAuditRow {
        actor_role: Some("root".into()),
        ..row
    };
    assert!(matches!(corrupt.into_record(), Err(StoreError::Corrupt(_))));
}
