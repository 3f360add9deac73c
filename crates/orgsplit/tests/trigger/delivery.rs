//! Stages that deliver events as AWS would: an SQS queue fed by the rule, a Lambda function, and the Lambda runtime API.

use super::*;

/// The new-account trigger's EventBridge rule.
const RULE: &str = "orgsplit-new-account";

/// Trigger install with home_region eu-west-1: refused (exit 3) while no trail logs management
/// events in us-east-1, and a target outside us-east-1 is refused (exit 2); once a trail logs
/// there, the rule is made in us-east-1, never in the home Region.
pub(super) fn install_puts_the_rule_in_us_east_1_and_needs_a_trail(s: &mut Scenario) {
    fields!(s; emu, rt, m; );
    let home = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(s.dir.path().join("orgsplit.toml")).unwrap();
    let config = config
        .replace("home_region = \"us-east-1\"", "home_region = \"eu-west-1\"")
        .replace("regions = [\"us-east-1\"]", "regions = [\"eu-west-1\"]");
    assert!(config.contains("home_region = \"eu-west-1\""));
    std::fs::write(home.path().join("orgsplit.toml"), config).unwrap();
    let d = home.path();
    let queue_arn = rt.block_on(async {
        let sqs = m.sqs(REGION);
        sqs.create_queue().queue_name("orgsplit-eu-events").send().await.unwrap();
        format!("arn:aws:sqs:{REGION}:{MANAGEMENT_ACCOUNT}:orgsplit-eu-events")
    });
    let install = |extra: &[&str]| {
        let mut args = vec!["trigger", "install", "--target-arn", &queue_arn];
        args.extend(extra);
        orgsplit(emu, d, &args)
    };
    emu.clear_requests();
    let refused = install(&[]);
    assert_eq!(refused.code, Some(3), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("no CloudTrail trail logs management events in us-east-1 (no trail at all)"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--no-trail-check"), "{}", refused.stderr);
    let elsewhere = orgsplit(
        emu,
        d,
        &[
            "trigger",
            "install",
            "--target-arn",
            &format!("arn:aws:sqs:eu-west-1:{MANAGEMENT_ACCOUNT}:q"),
        ],
    );
    assert_eq!(elsewhere.code, Some(2), "{}", elsewhere.stderr);
    assert!(elsewhere.stderr.contains("not us-east-1"), "{}", elsewhere.stderr);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "a refused install");

    // A logging trail of eu-west-1 only, and a multi-Region one not logging yet: still
    // refused, the latter named with its reason; once it logs: installed in us-east-1.
    rt.block_on(async {
        m.s3("us-east-1").create_bucket().bucket("acme-org-trail").send().await.unwrap();
        let eu = m.cloudtrail("eu-west-1");
        eu.create_trail().name("eu-only").s3_bucket_name("acme-org-trail").send().await.unwrap();
        eu.start_logging().name("eu-only").send().await.unwrap();
        let ct = m.cloudtrail(REGION);
        ct.create_trail()
            .name("org-trail")
            .s3_bucket_name("acme-org-trail")
            .is_multi_region_trail(true)
            .send()
            .await
            .unwrap();
    });
    let not_logging = install(&[]);
    assert_eq!(not_logging.code, Some(3), "{}", not_logging.stderr);
    // A trail of eu-west-1 alone is not even listed in us-east-1 (DescribeTrails shows a
    // Region's trails and the multi-Region ones).
    assert!(not_logging.stderr.contains("(org-trail: not logging"), "{}", not_logging.stderr);
    rt.block_on(async {
        m.cloudtrail(REGION).start_logging().name("org-trail").send().await.unwrap();
    });
    let installed = install(&[]);
    assert_eq!(installed.code, Some(0), "{}", installed.stderr);
    assert!(installed.stdout.contains("(us-east-1)"), "{}", installed.stdout);
    rt.block_on(async {
        let rule = m.events(REGION).describe_rule().name(RULE).send().await.unwrap();
        assert!(rule.arn().unwrap().starts_with("arn:aws:events:us-east-1:"));
        let home = m.events("eu-west-1").describe_rule().name(RULE).send().await;
        assert!(home.is_err(), "no rule in the home Region: {home:?}");
    });
}

/// Trigger install with an SQS target: an event on the bus is handled from the queue.
pub(super) fn sqs_target_delivers_events_from_the_bus(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, rt, aws, m, dev_ou, dev_admin; );
    // `trigger install` with an SQS target, then an event put on the bus arrives in the queue
    // and is handled from there.
    let (queue_url, queue_arn) = rt.block_on(async {
        let sqs = m.sqs(REGION);
        // A visibility timeout shorter than a reconcile: the consumer must keep the message
        // hidden while it works, or it would come back and be handled twice.
        let url = sqs
            .create_queue()
            .queue_name("orgsplit-events")
            .attributes(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "2")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        (url, format!("arn:aws:sqs:{REGION}:{MANAGEMENT_ACCOUNT}:orgsplit-events"))
    });
    let installed = orgsplit(emu, d, &["trigger", "install", "--target-arn", &queue_arn]);
    assert_eq!(installed.code, Some(0), "{}", installed.stderr);
    emu.clear_requests();
    let again = orgsplit(emu, d, &["trigger", "install", "--target-arn", &queue_arn]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.contains("already in place"), "{}", again.stdout);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "second install");
    let b = rt.block_on(async {
        let b = create_account(m, "team-b").await;
        let from = move_to(m, &b, dev_ou).await;
        let event: Value =
            serde_json::from_str(&fixture("move-account.json", &b, &from, dev_ou)).unwrap();
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(event["source"].as_str().unwrap())
            .detail_type(event["detail-type"].as_str().unwrap())
            .detail(event["detail"].to_string())
            .build();
        let put = m.events(REGION).put_events().entries(entry).send().await.unwrap();
        assert_eq!(put.failed_entry_count(), 0);
        // Something else on the bus does not match the rule.
        let other: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{FIXTURES}/other-event.json")).unwrap(),
        )
        .unwrap();
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source("aws.organizations")
            .detail_type(other["detail-type"].as_str().unwrap())
            .detail(other["detail"].to_string())
            .build();
        m.events(REGION).put_events().entries(entry).send().await.unwrap();
        b
    });
    emu.clear_requests();
    let consumed =
        orgsplit(emu, d, &["trigger", "handle", "--queue-url", &queue_url, "--wait-seconds", "2"]);
    assert_eq!(consumed.code, Some(0), "{}", consumed.stderr);
    let kept_hidden = emu
        .requests()
        .iter()
        .filter(|r| r["operation"] == "ChangeMessageVisibility" && r["status"] == 200)
        .count();
    assert!(kept_hidden >= 1, "the message in hand was never kept hidden");
    // The StackSet's auto-deployment deploys to an account joining its OU by itself (a
    // StackSet operation of its own): the reconcile either waits it out and finds the
    // instances there, or makes them; either way the account ends trusting its admin.
    assert!(
        consumed.stdout.contains("Handled 1 messages: 1 reconciled (")
            && consumed.stdout.contains(" 0 ignored, 0 malformed, 0 failed."),
        "{}",
        consumed.stdout
    );
    assert_eq!(rt.block_on(trusted(aws, &b)), Some(only(dev_admin)));
}

/// A Lambda target replaces the rule's target; only the rule may invoke the function.
pub(super) fn lambda_target_replaces_the_queue(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, rt, m; );
    // A Lambda target instead: the rule's target is replaced, and the function's resource
    // policy lets the rule (and only it) invoke the function.
    let function_arn = rt.block_on(async {
        m.iam()
            .create_role()
            .role_name("orgsplit-trigger")
            .assume_role_policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        // An empty zip: the function is never invoked through the emulator.
        let empty_zip = [&b"PK\x05\x06"[..], &[0u8; 18][..]].concat();
        let f = m
            .lambda(REGION)
            .create_function()
            .function_name("orgsplit-trigger")
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .handler("bootstrap")
            .role(format!("arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/orgsplit-trigger"))
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        f.function_arn().unwrap().to_string()
    });
    let to_lambda = orgsplit(emu, d, &["trigger", "install", "--target-arn", &function_arn]);
    assert_eq!(to_lambda.code, Some(0), "{}", to_lambda.stderr);
    assert!(to_lambda.stdout.contains("target written"), "{}", to_lambda.stdout);
    rt.block_on(async {
        let events = m.events(REGION);
        let targets = events.list_targets_by_rule().rule(RULE).send().await.unwrap();
        let arns: Vec<&str> = targets.targets().iter().map(|t| t.arn()).collect();
        assert_eq!(arns, [function_arn.as_str()]);
        let rule_arn =
            events.describe_rule().name(RULE).send().await.unwrap().arn().unwrap().to_string();
        let policy =
            m.lambda(REGION).get_policy().function_name(&function_arn).send().await.unwrap();
        let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
        let st = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "orgsplit-trigger-events")
            .unwrap_or_else(|| panic!("no orgsplit statement in {policy}"));
        assert_eq!(st["Principal"]["Service"], "events.amazonaws.com", "{st}");
        assert!(st.to_string().contains(&rule_arn), "{st}");
    });
    emu.clear_requests();
    let again = orgsplit(emu, d, &["trigger", "install", "--target-arn", &function_arn]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.contains("already in place"), "{}", again.stdout);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "second install (Lambda)");
}

/// The Lambda runtime serves an EventBridge event and an SQS batch.
pub(super) fn the_lambda_runtime_serves_invocations(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, rt, aws, m, prod_ou, prod_admin; );
    // The Lambda runtime: `orgsplit` with no arguments under AWS_LAMBDA_RUNTIME_API serves
    // invocations: an EventBridge event directly, and an SQS batch.
    let c = rt.block_on(async {
        let c = create_account(m, "team-c").await;
        move_to(m, &c, prod_ou).await;
        c
    });
    let direct: Value =
        serde_json::from_str(&fixture("create-account-result.json", &c, "", "")).unwrap();
    let batch = json!({"Records": [
        {"messageId": "1", "eventSource": "aws:sqs", "body": std::fs::read_to_string(format!("{FIXTURES}/other-event.json")).unwrap()}
    ]});
    let mut lambda = std::process::Command::new(assert_cmd::cargo::cargo_bin("orgsplit"));
    lambda
        .current_dir(d)
        .env("AWS_LAMBDA_RUNTIME_API", emu.runtime_api())
        .env("AWS_LAMBDA_FUNCTION_NAME", "orgsplit-trigger")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orgsplit-trigger")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("ORGSPLIT_CONFIG", d.join("orgsplit.toml"))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (k, v) in emu.env() {
        lambda.env(k, v);
    }
    let mut child = lambda.spawn().unwrap();
    // With less time left than the handler keeps in hand, it stops before starting: the direct
    // event fails (Lambda retries it), the SQS record is reported for its queue to redeliver,
    // and nothing is changed.
    let c_batch = json!({"Records": [
        {"messageId": "late-1", "eventSource": "aws:sqs", "body": direct.to_string()}
    ]});
    // (The account's instances may be there already: its move into prod started the
    // StackSet's auto-deployment. What the handler did is read from the request log.)
    emu.clear_requests();
    let late = emu.lambda_invoke_with_deadline(&[direct.clone(), c_batch], 5.0);
    let late = wait_for(emu, &mut child, &late);
    assert_eq!(late[0]["state"], "error", "{late:?}");
    assert!(late[0]["body"].to_string().contains("before the invocation's deadline"), "{late:?}");
    assert_eq!(late[1]["state"], "response", "{late:?}");
    assert_eq!(late[1]["body"]["batchItemFailures"], json!([{"itemIdentifier": "late-1"}]));
    assert_eq!(late[1]["body"]["results"][0]["outcome"], "retried", "{late:?}");
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "a stopped handler changed nothing");

    let ids = emu.lambda_invoke(&[direct, batch]);
    let results = wait_for(emu, &mut child, &ids);
    let _ = child.kill();
    let _ = child.wait();
    for r in &results {
        assert_eq!(r["state"], "response", "{r}");
    }
    let outcomes: Vec<String> = results
        .iter()
        .flat_map(|r| r["body"]["results"].as_array().unwrap().clone())
        .map(|x| x["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes.len(), 2, "{results:?}");
    assert!(outcomes.contains(&"reconciled".to_string()), "{results:?}");
    assert!(outcomes.contains(&"ignored".to_string()), "{results:?}");
    assert_eq!(results[1]["body"]["batchItemFailures"], json!([]), "{results:?}");
    assert_eq!(rt.block_on(trusted(aws, &c)), Some(only(prod_admin)));
}

/// The function's answers to the invocations `ids`, in that order, once all are in.
fn wait_for(emu: &Emulator, child: &mut std::process::Child, ids: &[String]) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let r = emu.lambda_results();
        let done: Vec<Value> = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| ids.contains(&x["request_id"].as_str().unwrap().to_string()))
            .filter(|x| x["state"] == "response" || x["state"] == "error")
            .cloned()
            .collect();
        if done.len() == ids.len() {
            let mut done = done;
            done.sort_by_key(|x| ids.iter().position(|i| x["request_id"] == i.as_str()));
            return done;
        }
        if started.elapsed() > Duration::from_secs(120) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("the Lambda runtime answered {r}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
