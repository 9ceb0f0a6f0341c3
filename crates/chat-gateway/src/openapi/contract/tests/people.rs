//! Auth's rules: UUIDs (as every service reads ids), emails, passwords.

use devopstrack_auth::domain as auth;

use super::super::*;
use super::{Documented, agree, long};

#[test]
fn uuids_emails_and_passwords_are_the_parsers_rules() {
    agree::<Uuid>(
        |s| uuid::Uuid::parse_str(s).is_ok(),
        &[
            "0190f5d2-7c4e-7b1a-9f3e-2d4c6b8a0e1f",
            "0190F5D2-7C4E-7B1A-9F3E-2D4C6B8A0E1F",
            "0190f5d27c4e7b1a9f3e2d4c6b8a0e1f",
            "{0190f5d2-7c4e-7b1a-9f3e-2d4c6b8a0e1f}",
            "urn:uuid:0190f5d2-7c4e-7b1a-9f3e-2d4c6b8a0e1f",
            "",
            "0190f5d2",
            "0190f5d2-7c4e-7b1a-9f3e-2d4c6b8a0e1g",
            "0190f5d2-7c4e-7b1a-9f3e-2d4c6b8a0e1f0",
            " 0190f5d2-7c4e-7b1a-9f3e-2d4c6b8a0e1f",
        ],
    );
    let local64 = format!("{}@example.com", long("a", 64));
    let local65 = format!("{}@example.com", long("a", 65));
    agree::<Email>(
        |s| auth::Email::parse(s).is_ok(),
        &[
            "ada@example.com",
            "Ada@Example.COM",
            "  ops@localhost ",
            "a.b+c@sub.example.org",
            "a@b",
            local64.as_str(),
            local65.as_str(),
            "",
            "   ",
            "no-at-sign",
            "@example.com",
            "ada@",
            "a@b@c",
            "a b@c.d",
            "a@.com",
            "a@com.",
            "a\u{0}@b",
            "a@b\u{85}c",
            "ü@ex.de",
            "ünï@cödé.de",
        ],
    );
    // What the pattern admits of any characters stays within the byte limits (64 before the `@`, 254 in all).
    let widest = format!("{}@{}", long("\u{10348}", 16), long("\u{10348}", 47));
    let widest_ascii = format!("{}@{}", long("a", 64), long("b", 189));
    for email in [widest.as_str(), widest_ascii.as_str()] {
        assert!(Documented::of::<Email>().admits(email), "{email}");
        assert!(auth::Email::parse(email).is_ok(), "{email}");
    }
    let password256 = long("p", 256);
    let password257 = long("p", 257);
    agree::<NewPassword>(
        |s| auth::NewPassword::parse(s).is_ok(),
        &[
            "correct horse",
            "0123456789",
            " padded password ",
            password256.as_str(),
            password257.as_str(),
            "short",
            "          ",
            "\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}",
            "",
        ],
    );
}
