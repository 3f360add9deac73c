//! Control Tower in another home Region: its lifecycle events are forwarded to us-east-1.

use super::*;
use orgsplit_trigger::forward::{
    FORWARD_POLICY_NAME, FORWARD_ROLE_NAME, FORWARD_RULE_NAME, forward_pattern,
};

const CT_REGION: &str = "eu-west-1";

/// With `[trigger] control_tower_home_region = "eu-west-1"`, `trigger install` also makes, in
/// eu-west-1, a rule sending Control Tower's events to us-east-1's default bus through an
/// execution role allowed only that; a second install writes nothing; a `CreateManagedAccount`
/// put on eu-west-1's bus reaches the queue and its account is reconciled.
pub(super) fn control_tower_events_are_forwarded_from_its_home_region(s: &mut Scenario) {
    fields!(s; emu, rt, aws, m, dev_ou, dev_admin; );
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(s.dir.path().join("orgsplit.toml")).unwrap();
    let config = format!("{config}\n[trigger]\ncontrol_tower_home_region = \"{CT_REGION}\"\n");
    std::fs::write(dir.path().join("orgsplit.toml"), config).unwrap();
    let d = dir.path();
    let (queue_url, queue_arn) = rt.block_on(async {
        let url = m.sqs(REGION).create_queue().queue_name("orgsplit-ct-events").send().await;
        let url = url.unwrap().queue_url().unwrap().to_string();
        (url, format!("arn:aws:sqs:{REGION}:{MANAGEMENT_ACCOUNT}:orgsplit-ct-events"))
    });
    let install = || orgsplit(emu, d, &["trigger", "install", "--target-arn", &queue_arn]);
    let installed = install();
    assert_eq!(installed.code, Some(0), "{}", installed.stderr);
    assert!(
        installed.stdout.contains(&format!("~ rule {FORWARD_RULE_NAME} (")),
        "{}",
        installed.stdout
    );

    // Read back: the rule in eu-west-1 (and not in us-east-1), its one target us-east-1's
    // default bus with the role, the role trusting EventBridge and allowed only PutEvents there.
    let bus = format!("arn:aws:events:{REGION}:{MANAGEMENT_ACCOUNT}:event-bus/default");
    rt.block_on(async {
        let events = m.events(CT_REGION);
        let rule = events.describe_rule().name(FORWARD_RULE_NAME).send().await.unwrap();
        assert!(rule.arn().unwrap().starts_with(&format!("arn:aws:events:{CT_REGION}:")));
        let pattern: Value = serde_json::from_str(rule.event_pattern().unwrap()).unwrap();
        assert_eq!(pattern, forward_pattern());
        let targets = events.list_targets_by_rule().rule(FORWARD_RULE_NAME).send().await.unwrap();
        let targets: Vec<(&str, Option<&str>)> =
            targets.targets().iter().map(|t| (t.arn(), t.role_arn())).collect();
        let role_arn = format!("arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/{FORWARD_ROLE_NAME}");
        assert_eq!(targets, [(bus.as_str(), Some(role_arn.as_str()))]);
        let none = m.events(REGION).describe_rule().name(FORWARD_RULE_NAME).send().await;
        assert!(none.is_err(), "the forwarding rule is not in us-east-1: {none:?}");
        let role = m.iam().get_role().role_name(FORWARD_ROLE_NAME).send().await.unwrap();
        let trust = policy_document(role.role().unwrap().assume_role_policy_document().unwrap());
        assert_eq!(trust["Statement"][0]["Principal"], json!({"Service": "events.amazonaws.com"}));
        let policy = m
            .iam()
            .get_role_policy()
            .role_name(FORWARD_ROLE_NAME)
            .policy_name(FORWARD_POLICY_NAME)
            .send()
            .await
            .unwrap();
        let policy = policy_document(policy.policy_document());
        assert_eq!(
            policy["Statement"],
            json!([{"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus}])
        );
    });

    emu.clear_requests();
    let again = install();
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(again.stdout.matches("already in place").count(), 2, "{}", again.stdout);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "second install");

    // Control Tower enrols an account into dev: its event, on eu-west-1's bus, is handled
    // from the us-east-1 queue.
    let c = rt.block_on(async {
        let c = create_account(m, "team-ct").await;
        move_to(m, &c, dev_ou).await;
        let event: Value =
            serde_json::from_str(&fixture("create-managed-account.json", &c, "", dev_ou)).unwrap();
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(event["source"].as_str().unwrap())
            .detail_type(event["detail-type"].as_str().unwrap())
            .detail(event["detail"].to_string())
            .build();
        let put = m.events(CT_REGION).put_events().entries(entry).send().await.unwrap();
        assert_eq!(put.failed_entry_count(), 0);
        c
    });
    let consumed =
        orgsplit(emu, d, &["trigger", "handle", "--queue-url", &queue_url, "--wait-seconds", "2"]);
    assert_eq!(consumed.code, Some(0), "{}", consumed.stderr);
    assert!(consumed.stdout.contains("Handled 1 messages: 1 reconciled"), "{}", consumed.stdout);
    assert_eq!(rt.block_on(trusted(aws, &c)), Some(only(dev_admin)));
}
