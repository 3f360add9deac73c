//! The planner on a small inventory shaped like the demo: classification, references,
//! rewriting, determinism, and snapshots of the review and of the plan file.

mod common;

use common::*;

#[test]
fn classifies_by_rule_reference_and_sharing() {
    let plan = plan();
    assert_eq!(env_of(&plan, ResourceKind::SsmParameter, "/dev/mailer/SMTP_PASSWORD"), "dev");
    assert_eq!(env_of(&plan, ResourceKind::SsmParameter, "/prod/mailer/SMTP_PASSWORD"), "prod");
    assert_eq!(env_of(&plan, ResourceKind::SsmParameter, "/shared/github/org"), "shared");
    assert_eq!(env_of(&plan, ResourceKind::IamRole, "ecs-task-execution"), "shared");
    assert_eq!(env_of(&plan, ResourceKind::IamPolicy, "prod-mailer-ses-send"), "prod");
    assert_eq!(env_of(&plan, ResourceKind::EcrRepository, "mail-sender"), "shared");
    assert_eq!(env_of(&plan, ResourceKind::EcsTask, "batch/0a1b2c"), "prod");
    assert_eq!(env_of(&plan, ResourceKind::SsmParameter, "/misc/unowned"), "unclassified");
    assert_eq!(plan.unclassified.len(), 1);
    assert!(
        plan.warnings.iter().any(|w| w.subject.as_deref() == Some("iam-role:ecs-task-execution")
            && w.message.contains("dev and prod"))
    );
    let reason =
        &plan.resources.iter().find(|r| r.name == "/prod/mailer/SMTP_PASSWORD").unwrap().reason;
    assert_eq!(reason, "rule 1: tag Environment in [prod, production]");
}

#[test]
fn every_classified_resource_has_its_steps_and_shared_ones_one_per_environment() {
    let plan = plan();
    let addresses: Vec<&str> = plan.steps().map(|s| s.address.as_str()).collect();
    for r in &plan.resources {
        let expected = if r.environment == "shared" { 2 } else { 1 };
        assert_eq!(r.steps.len(), expected, "{}:{} -> {:?}", r.kind, r.name, r.steps);
        for a in &r.steps {
            assert_eq!(addresses.iter().filter(|x| *x == a).count(), 1, "{a} appears once");
        }
    }
    let mut sorted = addresses.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), addresses.len(), "addresses are unique");
    // Every dependency names a step of the plan.
    for s in plan.steps() {
        for d in &s.depends_on {
            assert!(addresses.contains(&d.as_str()), "{} depends on unknown {d}", s.address);
        }
    }
    assert!(addresses.contains(&"dev/dev-workloads/ssm@eu-west-1:/dev/region/x"));
}

#[test]
fn arns_are_rewritten_to_the_target_and_images_stay() {
    let plan = plan();
    let step = plan
        .steps()
        .find(|s| s.address == "prod/prod-workloads/ecs-taskdef:prod-mail-sender")
        .unwrap();
    let c = &step.spec.copy().expect("a copy step").config;
    assert_eq!(
        c["taskRoleArn"],
        "arn:aws:iam::${account:prod-workloads}:role/prod-mail-sender-task"
    );
    assert_eq!(
        c["executionRoleArn"],
        "arn:aws:iam::${account:prod-workloads}:role/ecs-task-execution"
    );
    assert_eq!(
        c["containerDefinitions"][0]["secrets"][0]["valueFrom"],
        "arn:aws:ssm:us-east-1:${account:prod-workloads}:parameter/prod/mailer/SMTP_PASSWORD"
    );
    assert_eq!(
        c["containerDefinitions"][0]["image"],
        "111111111111.dkr.ecr.us-east-1.amazonaws.com/mail-sender:1.4.2"
    );
    assert!(
        step.depends_on.contains(&"prod/prod-workloads/iam-role:prod-mail-sender-task".to_string())
    );
    assert!(
        step.depends_on.contains(&"prod/prod-workloads/ssm:/prod/mailer/SMTP_PASSWORD".to_string())
    );
    let ecr = plan.steps().find(|s| s.address == "prod/prod-workloads/ecr:mail-sender").unwrap();
    assert_eq!(ecr.action, Action::Update);
    assert_eq!(ecr.account, SRC);
}

#[test]
fn pipelines_wait_on_a_connection_and_drop_their_v1_webhooks() {
    let plan = plan();
    let step = plan
        .steps()
        .find(|s| s.address == "prod/prod-workloads/pipeline:prod-api-release")
        .unwrap();
    assert!(copied_config(step).get("webhooks").is_none(), "{:#}", copied_config(step));
    assert_eq!(
        copied_config(step)["declaration"]["roleArn"],
        "arn:aws:iam::${account:prod-workloads}:role/prod-mail-sender-task"
    );
    assert!(
        step.notes.iter().any(|n| n.starts_with("1 v1 webhook(s) are not recreated")),
        "{:?}",
        step.notes
    );
    assert!(!step.notes.iter().any(|n| n.contains(":webhook:")), "{:?}", step.notes);
    for needed in [
        "organization/connection:orgsplit-github",
        "prod/prod-workloads/connection-share:orgsplit-github",
    ] {
        assert!(step.depends_on.contains(&needed.to_string()), "{needed}: {:?}", step.depends_on);
    }
    // One connection for the organization, in the management account, shared with prod.
    let connections: Vec<_> =
        plan.steps().filter(|s| s.kind() == orgsplit_model::StepKind::Connection).collect();
    assert_eq!(connections.len(), 1, "one connection for the whole split");
    assert_eq!(connections[0].address, "organization/connection:orgsplit-github");
    assert_eq!(connections[0].action, Action::Create);
    assert_eq!(connections[0].account, plan.management_account_id);
    let share = plan
        .steps()
        .find(|s| s.address == "prod/prod-workloads/connection-share:orgsplit-github")
        .unwrap();
    assert_eq!(share.account, plan.management_account_id);
    assert!(share.depends_on.contains(&"organization/org-trusted-access:ram".to_string()));
    let StepSpec::ConnectionShare(inputs) = &share.spec else { panic!("{share:?}") };
    assert_eq!(inputs.account, "${account:prod-workloads}");
    assert!(
        plan.steps().all(|s| s.address != "dev/dev-workloads/connection-share:orgsplit-github"),
        "dev has no pipeline"
    );
}

#[test]
fn a_plan_of_the_inventory_read_as_text_is_the_plan_of_its_trees() {
    // Read from a file, configurations are text, copied as text where nothing in them can
    // change (see `resource_step::copy_may_change`); built in memory, they are trees, always
    // rewritten. Both must give the same plan, byte for byte.
    let config = config();
    let inv = inventory();
    let from_trees = plan_of(&config, inv.clone());
    let file = serde_json::to_string_pretty(&inv).unwrap();
    let read: orgsplit_model::Inventory = serde_json::from_str(&file).unwrap();
    assert!(read.resources.iter().all(|r| r.config.as_text().is_some()));
    let from_text = plan_of(&config, read);
    assert_eq!(from_text.to_json(), from_trees.to_json());
    let copied_as_is = from_text
        .steps()
        .filter_map(|s| s.spec.copy())
        .filter(|c| inv.resources.iter().any(|r| r.arn == c.source_arn && r.config == c.config))
        .count();
    assert!(copied_as_is > 0, "some copies are the source's text as it is");
}

#[test]
fn the_plan_is_deterministic_and_its_digest_verifies() {
    let a = plan().to_json();
    let b = plan().to_json();
    assert_eq!(a, b);
    let read = Plan::from_json(&a).unwrap();
    assert_eq!(read.to_json(), a);
    // One line a step, which holds the whole step.
    for step in read.steps() {
        let start = format!("{{\"address\":{},", serde_json::to_string(&step.address).unwrap());
        let lines: Vec<&str> =
            a.lines().map(str::trim_start).filter(|l| l.starts_with(&start)).collect();
        assert_eq!(lines.len(), 1, "{}", step.address);
        let line: serde_json::Value = serde_json::from_str(lines[0].trim_end_matches(',')).unwrap();
        assert_eq!(line, serde_json::to_value(step).unwrap());
    }
    // Members in another order are another content.
    let swapped = a.replacen(
        "\"home_region\": \"us-east-1\",\n  \"access_role\": \"OrganizationAccountAccessRole\"",
        "\"access_role\": \"OrganizationAccountAccessRole\",\n  \"home_region\": \"us-east-1\"",
        1,
    );
    assert_ne!(swapped, a);
    assert!(matches!(
        Plan::from_json(&swapped),
        Err(orgsplit_model::PlanError::DigestMismatch { .. })
    ));
    let tampered = a.replace("\"aws+prod-workloads@example.com\"", "\"aws+evil@example.com\"");
    assert!(matches!(
        Plan::from_json(&tampered),
        Err(orgsplit_model::PlanError::DigestMismatch { .. })
    ));
    let reindented: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert!(
        Plan::from_json(&serde_json::to_string(&reindented).unwrap()).is_ok(),
        "whitespace does not matter"
    );
    assert!(matches!(
        Plan::from_json(&a[..a.len() / 2]),
        Err(orgsplit_model::PlanError::Malformed(_))
    ));
    let current = format!("\"format_version\": {}", orgsplit_model::plan::PLAN_FORMAT_VERSION);
    let next = format!("\"format_version\": {}", orgsplit_model::plan::PLAN_FORMAT_VERSION + 1);
    assert!(a.contains(&current));
    let future = a.replacen(&current, &next, 1);
    assert!(matches!(
        Plan::from_json(&future),
        Err(orgsplit_model::PlanError::UnknownVersion { .. })
    ));
}

#[test]
fn a_file_that_is_not_a_plan_object_or_has_no_known_version_is_named_so() {
    use orgsplit_model::PlanError;
    for (text, expected) in [
        ("[]", PlanError::Malformed("the top level is not a JSON object".into())),
        ("\"plan\"", PlanError::Malformed("the top level is not a JSON object".into())),
        ("{}", PlanError::Malformed("no format_version".into())),
        (
            r#"{"format_version": null}"#,
            PlanError::UnknownVersion {
                found: "null".into(),
                supported: orgsplit_model::plan::PLAN_FORMAT_VERSION,
            },
        ),
        (
            r#"{"format_version": "3"}"#,
            PlanError::UnknownVersion {
                found: "\"3\"".into(),
                supported: orgsplit_model::plan::PLAN_FORMAT_VERSION,
            },
        ),
    ] {
        assert_eq!(Plan::from_json(text).unwrap_err(), expected, "{text}");
    }
    // A member added where the plan's types allow none is a change of the file.
    let text = plan().to_json();
    let added = text.replacen("\"created_at\":", "\"approved_by\": \"me\",\n  \"created_at\":", 1);
    assert_ne!(added, text);
    assert!(matches!(Plan::from_json(&added), Err(PlanError::DigestMismatch { .. })));
    // So is one in an OU, an account, a resource entry or a warning; each is refused by its
    // type too, were the digest recomputed.
    for (at, with_member, member) in [
        ("\"environment\": \"dev\",", "\"environment\": \"dev\",\"approved_by\":\"me\",", "an OU"),
        ("\"workloads\": true,", "\"workloads\": true,\"approved_by\":\"me\",", "an account"),
        ("{\"arn\":", "{\"approved_by\":\"me\",\"arn\":", "a resource entry"),
        ("{\"subject\":", "{\"approved_by\":\"me\",\"subject\":", "a warning"),
    ] {
        assert!(text.contains(at), "{member}: {at}");
        let added = text.replacen(at, with_member, 1);
        assert!(
            matches!(Plan::from_json(&added), Err(PlanError::DigestMismatch { .. })),
            "{member}"
        );
        let mut value: serde_json::Value = serde_json::from_str(&added).unwrap();
        value["digest"] = "".into();
        let reshaped = serde_json::from_value::<Plan>(value);
        let e = reshaped.expect_err(member).to_string();
        assert!(e.contains("unknown field `approved_by`"), "{member}: {e}");
    }
}

#[test]
fn existing_ous_and_accounts_are_no_ops() {
    let config = config();
    let mut inv = inventory();
    inv.organization.ous.push(orgsplit_model::OuState {
        id: "ou-dev".into(),
        name: "dev".into(),
        parent_id: "r-root".into(),
    });
    inv.organization.accounts.push(AccountState {
        id: "222222222222".into(),
        name: "dev-admin".into(),
        email: "aws+dev-admin@example.com".into(),
        status: "ACTIVE".into(),
        parent_id: "ou-dev".into(),
    });
    let stacksets = baseline();
    let plan = build_plan(PlanInput {
        config: &config,
        inventory: &inv,
        stacksets: &stacksets,
        created_at: "t".into(),
    })
    .unwrap();
    let action = |a: &str| plan.steps().find(|s| s.address == a).unwrap().action;
    assert_eq!(action("dev/ou:dev"), Action::NoOp);
    assert_eq!(action("dev/dev-admin/account"), Action::NoOp);
    assert_eq!(action("dev/dev-admin/account-move"), Action::NoOp);
    assert_eq!(action("prod/ou:prod"), Action::Create);
    let stackset = plan.steps().find(|s| s.address == "dev/stackset:baseline").unwrap();
    assert_eq!(stackset_parameters(stackset)["AdminAccountId"], "222222222222");
    let prod_stackset = plan.steps().find(|s| s.address == "prod/stackset:baseline").unwrap();
    assert_eq!(stackset_parameters(prod_stackset)["AdminAccountId"], "${account:prod-admin}");
}

#[test]
fn review_snapshot() {
    insta::assert_snapshot!(render_review(&plan(), &ReviewOptions::default()));
}

#[test]
fn review_of_one_ou_snapshot() {
    insta::assert_snapshot!(render_review(
        &plan(),
        &ReviewOptions { ou: Some("dev".into()), ..ReviewOptions::default() }
    ));
}

#[test]
fn plan_file_snapshot() {
    insta::assert_snapshot!(plan().to_json());
}

#[test]
fn reserved_aws_tags_never_reach_the_plan_and_the_plan_says_how_many() {
    // A CloudFormation-made parameter: AWS refuses every write of an `aws:` tag, so the
    // copy's step must not carry them.
    let config = config();
    let mut inv = inventory();
    inv.resources.push(param(
        "/prod/stack/made",
        "String",
        &[
            ("Environment", "prod"),
            ("aws:cloudformation:stack-name", "prod-app"),
            ("AWS:CloudFormation:Logical-Id", "Param"),
        ],
    ));
    let plan = plan_of(&config, inv);
    for step in plan.steps() {
        let text = serde_json::to_string(step).unwrap().to_ascii_lowercase();
        assert!(!text.contains("aws:cloudformation"), "{text}");
    }
    let step = plan
        .steps()
        .find(|s| s.address.ends_with("ssm:/prod/stack/made"))
        .expect("the parameter is copied");
    assert_eq!(
        step.spec.copy().expect("a copy step").tags,
        BTreeMap::from([("Environment".to_string(), "prod".to_string())])
    );
    let warning = plan
        .warnings
        .iter()
        .find(|w| w.message.contains("reserved aws: prefix"))
        .expect("a warning counts the dropped tags");
    assert!(warning.message.starts_with("2 tag(s)"), "{}", warning.message);
    // Without such tags there is no warning.
    assert!(!plan_has_reserved_warning(&self::plan()));
}

#[test]
fn digests_written_piece_by_piece_equal_those_of_the_whole_json_tree() {
    let mut inv = inventory();
    // The inventory's: its compact JSON, the same for the trees `orgsplit inventory` holds and
    // for the text `orgsplit plan` reads back from the (indented) file.
    let read_back = |inv: &orgsplit_model::Inventory| -> orgsplit_model::Inventory {
        serde_json::from_str(&serde_json::to_string_pretty(inv).unwrap()).unwrap()
    };
    let compact = |inv: &orgsplit_model::Inventory| {
        orgsplit_model::canonical::sha256_hex(serde_json::to_string(inv).unwrap().as_bytes())
    };
    assert_eq!(inv.digest(), compact(&inv), "without coverage");
    assert_eq!(read_back(&inv).digest(), inv.digest(), "read back");
    inv.coverage.push(orgsplit_model::inventory::Coverage {
        listing: "Lambda functions".into(),
        region: "us-east-1".into(),
        found: 2,
        error: None,
    });
    assert_eq!(inv.digest(), compact(&inv), "with coverage");
    assert_eq!(read_back(&inv).digest(), inv.digest(), "read back, with coverage");
    let mut changed = read_back(&inv);
    changed.resources[0].config["Type"] = serde_json::json!("StringList");
    assert_ne!(changed.digest(), inv.digest(), "a changed configuration");
    let plan = plan_of(&config(), inv);
    assert!(!plan.coverage.is_empty() && !plan.warnings.is_empty());
    // The plan's: its compact JSON without the digest member.
    let mut unsigned = serde_json::to_value(&plan).unwrap();
    unsigned.as_object_mut().unwrap().remove("digest");
    let compact = serde_json::to_string(&unsigned).unwrap();
    assert_eq!(plan.digest, orgsplit_model::canonical::sha256_hex(compact.as_bytes()));
    // A file changed into another shape is reported as changed, not as a shape error.
    let text = plan.to_json();
    let reshaped = text.replacen("\"kind\":\"ou\"", "\"kind\":\"org-unit\"", 1);
    assert_ne!(reshaped, text);
    assert!(matches!(
        Plan::from_json(&reshaped),
        Err(orgsplit_model::PlanError::DigestMismatch { .. })
    ));
}

#[test]
fn the_outline_names_every_step_and_action_and_checks_the_version() {
    use orgsplit_model::plan::PlanOutline;
    let plan = plan();
    let text = plan.to_json();
    let outline = PlanOutline::from_json(&text).unwrap();
    let outlined: Vec<(String, Action)> = outline
        .organization
        .iter()
        .chain(
            outline
                .ous
                .iter()
                .flat_map(|o| o.steps.iter().chain(o.accounts.iter().flat_map(|a| a.steps.iter()))),
        )
        .map(|s| (s.address.clone(), s.action))
        .collect();
    let planned: Vec<(String, Action)> =
        plan.steps().map(|s| (s.address.clone(), s.action)).collect();
    assert_eq!(outlined, planned);
    assert_eq!(outline.digest, plan.digest);
    let current = format!("\"format_version\": {}", orgsplit_model::plan::PLAN_FORMAT_VERSION);
    let future = text.replacen(&current, "\"format_version\": 99", 1);
    assert!(matches!(
        PlanOutline::from_json(&future),
        Err(orgsplit_model::PlanError::UnknownVersion { .. })
    ));
    assert!(matches!(PlanOutline::from_json("[]"), Err(orgsplit_model::PlanError::Malformed(_))));
}

#[test]
fn a_format_3_plan_is_still_read_with_the_digest_its_journal_names() {
    use orgsplit_model::PlanError;
    use orgsplit_model::canonical::CanonicalHasher;
    // As orgsplit wrote format 3: pretty JSON, the digest of the types' compact JSON with
    // `digest` empty.
    let mut plan = plan();
    plan.format_version = orgsplit_model::plan::PLAN_FORMAT_3;
    plan.digest = String::new();
    let mut hasher = CanonicalHasher::default();
    serde_json::to_writer(&mut hasher, &plan).unwrap();
    plan.digest = hasher.finish();
    let text = serde_json::to_string_pretty(&plan).unwrap() + "\n";

    let read = Plan::from_json(&text).unwrap();
    assert_eq!(read, plan, "read whole, its recorded digest kept");
    let outline = orgsplit_model::plan::PlanOutline::from_json(&text).unwrap();
    assert_eq!(outline.digest, plan.digest);
    for (edited, what) in [
        (text.replace("aws+prod-workloads@example.com", "aws+evil@example.com"), "a value"),
        (text.replacen("\"kind\": \"ou\"", "\"kind\": \"org-unit\"", 1), "a shape"),
    ] {
        assert_ne!(edited, text, "{what}");
        assert!(
            matches!(Plan::from_json(&edited), Err(PlanError::DigestMismatch { .. })),
            "{what}"
        );
    }
    let older = text.replacen("\"format_version\": 3", "\"format_version\": 2", 1);
    assert_eq!(
        Plan::from_json(&older).unwrap_err().to_string(),
        "plan format_version 2 is not supported (this orgsplit writes 5, and reads it, 4 and 3)"
    );
}

#[test]
fn the_plan_records_the_configs_limits_for_apply_and_the_review_names_them() {
    // No [limits]: the plan file has no `limits` member (plans stay as they were).
    let default_plan = plan();
    assert!(default_plan.limits.is_default());
    assert!(!default_plan.to_json().contains("\"limits\""));
    assert!(!render_review(&default_plan, &ReviewOptions::default()).contains("  limits "));

    let mut config = config();
    config
        .limits
        .rates
        .insert("ssm:PutParameter".into(), orgsplit_model::config::Limit { rate: 2.5, burst: 4.0 });
    let mut plan = plan_of(&config, inventory());
    plan.seal();
    assert_eq!(plan.limits, config.limits);
    let text = plan.to_json();
    let written: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        written["limits"],
        json!({"rates": {"ssm:PutParameter": {"rate": 2.5, "burst": 4.0}}})
    );
    let read = Plan::from_json(&text).unwrap();
    assert_eq!(read.limits, config.limits, "apply paces by what the plan file says");
    assert_ne!(read.digest, default_plan.digest, "the limits are part of what was reviewed");
    let review = render_review(&read, &ReviewOptions::default());
    assert!(review.contains("  limits ssm:PutParameter 2.5/s burst 4\n"), "{review}");

    config.limits.enabled = false;
    let off = plan_of(&config, inventory());
    let written: Value = serde_json::from_str(&off.to_json()).unwrap();
    assert_eq!(written["limits"]["enabled"], json!(false));
    assert!(render_review(&off, &ReviewOptions::default()).contains("  limits off"));
}
