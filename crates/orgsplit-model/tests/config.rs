//! Config validation: every rejection names file, line and key.

use orgsplit_model::config::{AdminAccount, Config, ConnectionOwner};
use std::path::Path;

const EXAMPLE: &str = include_str!("../../../plans/examples/orgsplit.toml");

fn parse(text: &str) -> Result<Config, orgsplit_model::ConfigError> {
    Config::parse(Path::new("orgsplit.toml"), text)
}

/// The example with one line replaced (the first line equal to `from`).
fn edited(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "example has no line {from:?}");
    EXAMPLE.replacen(from, to, 1)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).expect("needle in text") + 1
}

#[test]
fn the_example_config_is_valid() {
    let c = parse(EXAMPLE).unwrap();
    assert_eq!(c.source_account_id, "111111111111");
    assert_eq!(c.regions, ["us-east-1", "eu-west-1"]);
    assert_eq!(c.ous.len(), 2);
    assert_eq!(c.ous[1].admin_account, AdminAccount::Named("prod-admin".into()));
    assert_eq!(c.workloads_account("prod").unwrap().name, "prod-workloads");
    assert_eq!(c.rules.len(), 6);
    assert_eq!(
        c.rules[4].describe(),
        "rule 5: name matches '(^|[-_/.])(prod|production)([-_/.]|$)'"
    );
    assert_eq!(c.rules[0].describe(), "rule 1: tag Environment in [prod, production]");
    assert_eq!(c.guardrails.max_task_hours, 24);
    assert_eq!(c.connection.owner, ConnectionOwner::Management);
    assert_eq!(c.connection.name, "orgsplit-github");
    assert!(c.digest.starts_with("sha256:"));
}

#[test]
fn the_connection_owner_may_be_the_source_or_an_account_id() {
    let c = parse(&edited("owner = \"management\"", "owner = \"source\"")).unwrap();
    assert_eq!(c.connection.owner, ConnectionOwner::Source);
    let c = parse(&edited("owner = \"management\"", "owner = \"444444444444\"")).unwrap();
    assert_eq!(c.connection.owner, ConnectionOwner::Account("444444444444".into()));
    // Without the table: the management account and the default name.
    let start = EXAMPLE.find("[connection]").unwrap();
    let c = parse(&EXAMPLE[..start]).unwrap();
    assert_eq!(c.connection.owner, ConnectionOwner::Management);
    assert_eq!(c.connection.name, orgsplit_model::config::DEFAULT_CONNECTION_NAME);
}

#[test]
fn an_unknown_key_names_its_line_and_key() {
    let text = EXAMPLE.replace(
        "access_role = \"OrganizationAccountAccessRole\"",
        "access_role = \"OrganizationAccountAccessRole\"\nacess_role = \"typo\"",
    );
    let e = parse(&text).unwrap_err();
    assert_eq!(e.key, "acess_role");
    assert_eq!(e.line, line_of(&text, "acess_role = \"typo\""));
    assert!(e.to_string().starts_with(&format!("orgsplit.toml:{}:", e.line)), "{e}");
}

#[test]
fn an_unknown_key_in_a_table_array_is_found() {
    let text = edited(
        "workloads = true                 # exactly",
        "workload = true                 # exactly",
    );
    let e = parse(&text).unwrap_err();
    assert_eq!(e.key, "workload");
    assert_eq!(e.line, line_of(&text, "workload = true"));
}

#[test]
fn an_admin_account_that_names_nothing_is_rejected() {
    let text = edited("admin_account = \"prod-admin\"", "admin_account = \"prod-admn\"");
    let e = parse(&text).unwrap_err();
    assert_eq!(e.key, "ou[1].admin_account");
    assert_eq!(e.line, line_of(&text, "prod-admn"));
    assert!(e.message.contains("names no [[account]]"), "{e}");
    assert!(e.hint.is_some());
}

#[test]
fn an_admin_account_may_be_an_account_id() {
    let text = edited("admin_account = \"prod-admin\"", "admin_account = \"222233334444\"");
    let c = parse(&text).unwrap();
    assert_eq!(c.ous[1].admin_account, AdminAccount::Id("222233334444".into()));
}

#[test]
fn an_account_in_an_unknown_ou_is_rejected() {
    let text = edited("ou = \"prod\"\nworkloads = true", "ou = \"production\"\nworkloads = true");
    let e = parse(&text).unwrap_err();
    assert_eq!(e.key, "account[3].ou");
    assert_eq!(e.line, line_of(&text, "ou = \"production\""));
}

#[test]
fn a_bad_regex_is_rejected_at_its_line() {
    let text = edited("name_pattern = '^/shared/'", "name_pattern = '^/shared/(['");
    let e = parse(&text).unwrap_err();
    assert_eq!(e.key, "rule[3].name_pattern");
    assert_eq!(e.line, line_of(&text, "^/shared/(["));
    assert!(e.message.starts_with("invalid regex"), "{e}");
}

#[test]
fn other_semantic_errors() {
    let cases = [
        ("version = 1", "version = 2", "version"),
        ("home_region = \"us-east-1\"", "home_region = \"us-east\"", "home_region"),
        ("account_id = \"111111111111\"", "account_id = \"11111111111\"", "source.account_id"),
        ("email = \"aws+prod-admin@example.com\"", "email = \"not-an-email\"", "account[2].email"),
        (
            "email = \"aws+prod-admin@example.com\"",
            "email = \"aws+dev-admin@example.com\"",
            "account[2].email",
        ),
        ("name = \"prod-admin\"", "name = \"dev-admin\"", "account[2].name"),
        ("environment = \"prod\"\ntag", "environment = \"staging\"\ntag", "rule[0].environment"),
        (
            "budget_email = \"platform@example.com\"",
            "budget_email = \"platform\"",
            "guardrails.budget_email",
        ),
        ("max_task_hours = 24 ", "max_task_hours = 0 ", "guardrails.max_task_hours"),
        ("owner = \"management\"", "owner = \"tooling\"", "connection.owner"),
        ("owner = \"management\"", "owner = \"12345\"", "connection.owner"),
        ("name = \"orgsplit-github\"", "name = \"\"", "connection.name"),
        (
            "name = \"orgsplit-github\"",
            "name = \"ccccccccccccccccccccccccccccccccc\"",
            "connection.name",
        ),
        (
            "name = \"prod\"\nenvironment = \"prod\"",
            "name = \"dev\"\nenvironment = \"prod\"",
            "ou[1].name",
        ),
        (
            "stacksets = [\"baseline\"]         # folders",
            "stacksets = [\"base line\"]         # folders",
            "ou[0].stacksets[0]",
        ),
    ];
    for (from, to, key) in cases {
        let e = parse(&edited(from, to)).unwrap_err();
        assert_eq!(e.key, key, "{from:?} -> {to:?}: {e}");
        assert!(e.line > 0, "{e}");
    }
}

#[test]
fn two_workload_accounts_in_one_ou_are_rejected() {
    let text = edited("ou = \"dev\"\n\n", "ou = \"dev\"\nworkloads = true\n\n");
    let e = parse(&text).unwrap_err();
    assert_eq!(e.key, "account[1].workloads");
}

#[test]
fn a_syntax_error_has_a_line() {
    let e = parse("version = 1\nhome_region = \"us-east-1\nregions = []\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
}

#[test]
fn the_control_tower_home_region_is_a_region() {
    assert_eq!(parse(EXAMPLE).unwrap().trigger.control_tower_home_region, None);
    let text = format!("{EXAMPLE}\n[trigger]\ncontrol_tower_home_region = \"eu-west-1\"\n");
    let c = parse(&text).unwrap();
    assert_eq!(c.trigger.control_tower_home_region.as_deref(), Some("eu-west-1"));
    let text = format!("{EXAMPLE}\n[trigger]\ncontrol_tower_home_region = \"Ireland\"\n");
    let e = parse(&text).unwrap_err();
    assert_eq!(e.key, "trigger.control_tower_home_region");
    assert_eq!(e.line, line_of(&text, "control_tower_home_region = \"Ireland\""));
    assert!(e.to_string().contains("\"Ireland\" is not an AWS region"), "{e}");
}

#[test]
fn limits_override_a_service_or_an_operation_and_may_be_turned_off() {
    let c = parse(EXAMPLE).unwrap();
    assert!(c.limits.enabled && c.limits.rates.is_empty(), "no [limits]: the defaults");
    let text = format!(
        "{EXAMPLE}\n[limits]\nssm = {{ rate = 50, burst = 60 }}\n\"ssm:PutParameter\" = {{ rate = 2.5 }}\n"
    );
    let c = parse(&text).unwrap();
    assert!(c.limits.enabled);
    assert_eq!(c.limits.rates["ssm"], orgsplit_model::config::Limit { rate: 50.0, burst: 60.0 });
    let put = c.limits.rates["ssm:PutParameter"];
    assert_eq!((put.rate, put.burst), (2.5, 2.5), "the burst defaults to the rate");
    let c = parse(&format!("{EXAMPLE}\n[limits]\nenabled = false\n")).unwrap();
    assert!(!c.limits.enabled);
}

#[test]
fn a_bad_limit_names_its_line_and_key() {
    for (limits, key, message) in [
        ("sms = { rate = 5 }", "limits.sms", "\"sms\" is not a service orgsplit calls"),
        (
            "\"ssm:put-parameter\" = { rate = 5 }",
            "limits.ssm:put-parameter",
            "not an operation name",
        ),
        ("ssm = { rate = 0 }", "limits.ssm.rate", "0 is not a rate above 0"),
        ("ssm = { rate = 100000 }", "limits.ssm.rate", "is not a rate above 0"),
        ("ssm = { rate = 5, burst = 0.5 }", "limits.ssm.burst", "0.5 is not a burst of 1 to"),
        ("ssm = { rate = 5, bust = 6 }", "limits.ssm", "bust"),
        ("enabled = \"no\"", "limits.enabled", "must be true or false"),
    ] {
        let text = format!("{EXAMPLE}\n[limits]\n{limits}\n");
        let e = parse(&text).unwrap_err();
        assert!(e.key.starts_with(key), "{limits}: key {} ({e})", e.key);
        assert!(e.to_string().contains(message), "{limits}: {e}");
        assert_eq!(e.line, line_of(&text, limits.split(' ').next().unwrap()), "{limits}: {e}");
    }
}
