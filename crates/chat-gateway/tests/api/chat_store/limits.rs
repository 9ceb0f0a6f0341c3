//! Rate windows shared by the replicas on one database: a person's limit holds across two stores taking slots at
//! once, another person or bucket is not affected, and a slot frees when the oldest hit leaves the window.

use std::time::Duration;

use devopstrack_gateway::chat::store::{Admission, SlotRequest};
use futures::future::join_all;

use super::{at, open};

conformance!(two_replicas_taking_slots_at_once_admit_the_limit_once_between_them);

fn slot<'a>(bucket: &'a str, subject: &'a str, seconds: i64) -> SlotRequest<'a> {
    SlotRequest {
        bucket,
        subject,
        limit: 10,
        window: Duration::from_secs(60),
        now: at(seconds),
    }
}

async fn two_replicas_taking_slots_at_once_admit_the_limit_once_between_them(url: &str) {
    let (a, b) = (open(url).await, open(url).await);
    let takes = (0..20).map(|n| {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        async move { store.take_slot(&slot("commands", "ann", 1)).await.unwrap() }
    });
    let answers = join_all(takes).await;
    let admitted = answers.iter().filter(|a| **a == Admission::Admitted).count();
    assert_eq!(admitted, 10, "{answers:?}");
    assert!(answers.contains(&Admission::Full {
        retry_after: Duration::from_secs(60)
    }));

    // Another person, or another bucket, has a window of its own.
    assert_eq!(
        b.take_slot(&slot("commands", "bob", 2)).await.unwrap(),
        Admission::Admitted
    );
    assert_eq!(
        a.take_slot(&slot("llm_previews", "ann", 2)).await.unwrap(),
        Admission::Admitted
    );
    // Still full 30 s later; free once the first hits leave the window.
    assert_eq!(
        b.take_slot(&slot("commands", "ann", 31)).await.unwrap(),
        Admission::Full {
            retry_after: Duration::from_secs(30)
        }
    );
    assert_eq!(
        a.take_slot(&slot("commands", "ann", 61)).await.unwrap(),
        Admission::Admitted
    );
}
