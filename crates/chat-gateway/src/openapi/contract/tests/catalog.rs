//! The projects service's rules (and metrics' filters).

use devopstrack_projects::domain as projects;

use super::super::*;
use super::{agree, long};

#[test]
fn slugs_project_refs_and_filters_are_the_projects_rules() {
    let max = long("a", 63);
    let too_long = long("a", 64);
    let inputs = [
        "api",
        "a1",
        "0day",
        "web-frontend",
        "a-",
        max.as_str(),
        too_long.as_str(),
        "a",
        "",
        "-api",
        "Api",
        "api_v2",
        "api v2",
        "äpi",
        "api\n",
        "0190f5d2-7c4e-7b1a-9f3e-2d4c6b8a0e1f",
        "0190F5D2-7C4E-7B1A-9F3E-2D4C6B8A0E1F",
        "0190f5d27c4e7b1a9f3e2d4c6b8a0e1f",
        "{0190f5d2-7c4e-7b1a-9f3e-2d4c6b8a0e1f}",
        "urn:uuid:0190f5d2-7c4e-7b1a-9f3e-2d4c6b8a0e1f",
        "0190f5d2-7c4e-7b1a-9f3e-2d4c6b8a0e1",
        "{api}",
    ];
    agree::<Slug>(|s| projects::Slug::parse(s).is_ok(), &inputs);
    // projects' ProjectRef: a UUID first, else a slug.
    agree::<ProjectRef>(
        |s| uuid::Uuid::parse_str(s).is_ok() || projects::Slug::parse(s).is_ok(),
        &inputs,
    );
    // The gateway passes an empty filter on as "every project".
    agree::<ProjectFilter>(
        |s| s.is_empty() || devopstrack_metrics::domain::validate::project(s).is_ok(),
        &inputs,
    );
}

#[test]
fn environment_names_and_filters_are_the_projects_rules() {
    let max = long("a", 32);
    let too_long = long("a", 33);
    let inputs = [
        "dev",
        "staging",
        "production",
        "eu-1",
        "1",
        "a",
        max.as_str(),
        too_long.as_str(),
        "",
        "-dev",
        "Dev",
        "dev_1",
        "dev.1",
        "dev ",
        "prod\n",
    ];
    agree::<EnvName>(|s| projects::EnvName::parse(s).is_ok(), &inputs);
    agree::<EnvFilter>(
        |s| devopstrack_metrics::domain::validate::environment(s, true).is_ok(),
        &inputs,
    );
}

#[test]
fn versions_commits_tags_and_deployment_ids_are_the_projects_rules() {
    let v64 = long("1", 64);
    let v65 = long("1", 65);
    agree::<VersionLabel>(
        |s| projects::VersionLabel::parse(s).is_ok(),
        &[
            "1.4.0",
            "v2.0.0-rc.1",
            "2024.06.01+abc",
            "~!",
            v64.as_str(),
            v65.as_str(),
            "",
            "1 0",
            "1.0\n",
            "1.0é",
        ],
    );
    let sha64 = long("a", 64);
    let sha65 = long("a", 65);
    let shas = [
        "3f2a9c1",
        "3F2A9C1D8E",
        sha64.as_str(),
        sha65.as_str(),
        "3f2a9c",
        "",
        "3f2a9cg",
        "3f2a 9c1",
        "0x3f2a9c1",
    ];
    agree::<CommitSha>(|s| devopstrack_platform::commit::CommitSha::parse(s).is_ok(), &shas);
    agree::<OptionalCommitSha>(|s| s.is_empty() || projects::CommitSha::parse(s).is_ok(), &shas);
    let tag32 = long("a", 32);
    let tag33 = long("a", 33);
    agree::<Tag>(
        |s| projects::Tag::parse(s).is_ok(),
        &[
            "backend",
            "v1.2",
            "a_b-c",
            "0",
            tag32.as_str(),
            tag33.as_str(),
            "",
            ".a",
            "Backend",
            "a b",
            "a/b",
        ],
    );
    let id64 = long("x", 64);
    let id65 = long("x", 65);
    agree::<DeploymentId>(
        |s| projects::parse_deployment_id(s).is_ok(),
        &[
            "deploy-1",
            "gh:42",
            "A.b_c:d-e",
            id64.as_str(),
            id65.as_str(),
            "",
            "a b",
            "a/b",
            "ä",
        ],
    );
}

#[test]
fn display_names_descriptions_and_owners_are_the_services_rules() {
    let name100 = long("é", 100);
    let name101 = long("é", 101);
    let padded = format!("  {}\t\n", long("x", 100));
    let names = [
        "Ada",
        "  Ada  ",
        "Ada Lovelace",
        "\u{3000}Ada\u{2000}",
        "\tAda\n",
        "a",
        name100.as_str(),
        name101.as_str(),
        padded.as_str(),
        "",
        "   ",
        "\n\t",
        "a\u{0}b",
        "a\tb",
        "a\u{85}b",
        "a\u{9f}b",
        "A\u{2028}B",
        "\u{feff}Ada",
    ];
    agree::<DisplayName>(|s| devopstrack_auth::domain::parse_name(s).is_ok(), &names);
    agree::<DisplayName>(|s| projects::ProjectName::parse(s).is_ok(), &names);

    let text2000 = long("x", 2000);
    let text2001 = long("x", 2001);
    agree::<Description>(
        |s| projects::parse_description(s).is_ok(),
        &[
            "",
            "The public API",
            "two\nlines\r\n\ttabbed",
            text2000.as_str(),
            text2001.as_str(),
            "a\u{0}",
            "a\u{7f}",
            "a\u{85}",
        ],
    );
    // projects' create_release: at most 10000 characters, no control characters but \n, \t and \r.
    let notes_rule =
        |s: &str| s.chars().count() <= 10_000 && !s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'));
    let notes10000 = long("x", 10_000);
    let notes10001 = long("x", 10_001);
    agree::<ReleaseNotes>(
        notes_rule,
        &[
            "",
            "Fixes #42\n- faster",
            notes10000.as_str(),
            notes10001.as_str(),
            "a\u{1b}",
        ],
    );

    // projects' short_text: trimmed, at most 200 characters, no control characters; update_project: not empty.
    let owner_rule = |s: &str| {
        let t = s.trim();
        t.chars().count() <= 200 && !t.chars().any(char::is_control)
    };
    let owner200 = long("o", 200);
    let owner201 = long("o", 201);
    let owners = [
        "",
        "  ",
        "ada",
        " team platform ",
        owner200.as_str(),
        owner201.as_str(),
        "a\u{0}b",
        "\nada\n",
    ];
    agree::<ShortText>(owner_rule, &owners);
    agree::<NewOwner>(|s| owner_rule(s) && !s.trim().is_empty(), &owners);
}

#[test]
fn pipeline_refs_tag_filters_and_orders_are_the_projects_rules() {
    // projects' record_deployment: `short_text(…, 100)`.
    let rule = |s: &str| {
        let t = s.trim();
        t.chars().count() <= 100 && !t.chars().any(char::is_control)
    };
    let ref100 = long("p", 100);
    let ref101 = long("p", 101);
    agree::<PipelineRef>(rule, &["", "0190f5d2", ref100.as_str(), ref101.as_str(), "a\u{1}"]);
    agree::<TagFilter>(
        |s| s.is_empty() || projects::Tag::parse(s).is_ok(),
        &["", "backend", "v1.2", "Backend", "a b", ".a"],
    );
    agree::<ProjectOrder>(
        |s| devopstrack_projects::pagination::parse_order_by(s).is_ok(),
        &[
            "",
            "slug",
            "-slug",
            "name",
            "created_at",
            "-createdAt",
            "updated_at",
            "updatedAt",
            " -name ",
            "--name",
            "Name",
            "slug,name",
            "- name",
        ],
    );
}

#[test]
fn repository_branch_environment_and_webhook_values_are_the_projects_rules() {
    let url300 = format!("https://github.com/{}", long("a", 281));
    let url301 = format!("https://github.com/{}", long("a", 282));
    agree::<RepoUrl>(
        |s| projects::RepoUrl::parse(s).is_ok(),
        &[
            "https://github.com/acme/api",
            "https://github.com/acme/api/",
            "git@github.com:acme/api.git",
            "https://git.example.com:8443/a/b",
            url300.as_str(),
            url301.as_str(),
            "",
            "http://github.com/acme/api",
            "https://github.com",
            "https://github.com/",
            "https://github.com//",
            "https://user@github.com/a/b",
            "https://.github.com/a",
            "git@github.com",
            "git@:a/b",
            "https://github.com/a b",
            "https://gïthub.com/a",
            "ftp://github.com/a",
        ],
    );
    let branch100 = long("b", 100);
    let branch101 = long("b", 101);
    agree::<Branch>(
        |s| projects::parse_branch(s).is_ok(),
        &[
            "",
            "main",
            "release/1.x",
            ".hidden",
            "a.b.c",
            "trailing.",
            branch100.as_str(),
            branch101.as_str(),
            "a..b",
            "..",
            "a b",
            "ä",
        ],
    );
    let env_url300 = format!("https://{}", long("e", 292));
    let env_url301 = format!("https://{}", long("e", 293));
    agree::<EnvUrl>(
        |s| projects::parse_env_url(s).is_ok(),
        &[
            "",
            "https://staging.example.com",
            "http://10.0.0.1:8080/x",
            "https://",
            env_url300.as_str(),
            env_url301.as_str(),
            "staging.example.com",
            "https://a b",
            "https://ä",
        ],
    );
    let secret256 = long("s", 256);
    let secret257 = long("s", 257);
    agree::<WebhookSecret>(
        |s| projects::check_webhook_secret(s).is_ok(),
        &[
            "sixteen chars ok",
            "a much longer webhook secret",
            secret256.as_str(),
            secret257.as_str(),
            "fifteen chars..",
            "sixteen\tchars ok",
            "",
        ],
    );
    let event64 = long("e", 64);
    let event65 = long("e", 65);
    agree::<GithubEventName>(
        |s| projects::GithubEvent::parse(s).is_ok(),
        &[
            "push",
            "workflow_run",
            event64.as_str(),
            event65.as_str(),
            "",
            "Push",
            "push-1",
            "push ",
        ],
    );
    let delivery128 = long("d", 128);
    let delivery129 = long("d", 129);
    agree::<GithubDeliveryId>(
        |s| projects::parse_delivery_id(s).is_ok(),
        &[
            "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "a.b_c:d",
            delivery128.as_str(),
            delivery129.as_str(),
            "",
            "a b",
            "a/b",
        ],
    );
}
