//! The emulator, proved through the real AWS SDK for Rust and through orgsplit-aws's own
//! clients: throttling is classified and retried, CodeStar Connections work, a dropped
//! connection is a dispatch failure, and the request log counts what was sent.

use aws_smithy_runtime_api::client::result::SdkError;
use orgsplit_aws::{Aws, AwsOptions, ErrorClass, RateTable, classify};
use orgsplit_testkit::{Emulator, MANAGEMENT_ACCOUNT};
use serde_json::json;

/// orgsplit's clients against the emulator, unpaced.
async fn aws(emu: &Emulator, max_attempts: u32) -> Aws {
    paced_aws(emu, max_attempts, RateTable::unlimited()).await
}

/// orgsplit's clients against the emulator, paced by `rates`.
async fn paced_aws(emu: &Emulator, max_attempts: u32, rates: RateTable) -> Aws {
    emu.export_env();
    let mut opts = AwsOptions::new("us-east-1");
    opts.endpoint_url = Some(emu.url.clone());
    opts.rates = rates;
    opts.max_attempts = max_attempts;
    Aws::load(opts).await.unwrap()
}

fn ssm_requests(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.requests().into_iter().filter(|r| r["service"] == "ssm").collect()
}

#[tokio::test]
async fn throttling_is_classified_as_throttling_and_retried() {
    let emu = Emulator::start();
    let aws = aws(&emu, 3).await;
    let session = aws.session(MANAGEMENT_ACCOUNT).await.unwrap();
    let ssm = session.ssm("us-east-1");
    emu.clear_requests();

    // Always throttled: the SDK retries up to its attempts, then gives up with a
    // throttling error.
    emu.set_faults(json!({ "throttle": 1.0, "services": ["ssm"] }));
    let err = ssm.describe_parameters().send().await.unwrap_err();
    assert_eq!(classify(&err), ErrorClass::Throttled, "{err:?}");
    let sent = ssm_requests(&emu);
    assert_eq!(sent.len(), 3, "three attempts: {sent:#?}");
    assert!(sent.iter().all(|r| r["status"] == 400 && r["operation"] == "DescribeParameters"));

    // Throttled half the time: retries get it through.
    emu.clear_requests();
    emu.set_faults(json!({ "throttle": 0.5, "seed": 3, "services": ["ssm"] }));
    let aws = self::aws(&emu, 10).await;
    let ssm = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().ssm("us-east-1");
    for i in 0..10 {
        ssm.put_parameter()
            .name(format!("/t/p{i}"))
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
    }
    let sent = ssm_requests(&emu);
    let throttled = sent.iter().filter(|r| r["status"] == 400).count();
    let ok = sent.iter().filter(|r| r["status"] == 200).count();
    assert_eq!(ok, 10);
    assert!(throttled > 0, "some attempts were throttled and retried: {sent:#?}");
    emu.set_faults(json!({}));
    let listed = ssm.describe_parameters().max_results(50).send().await.unwrap();
    assert_eq!(listed.parameters().len(), 10, "each parameter written once");
}

#[tokio::test]
async fn a_throttled_service_slows_down_and_the_others_keep_their_rate() {
    let emu = Emulator::start();
    let mut rates = RateTable::default();
    for service in ["ssm", "iam", "sts"] {
        rates.set(service, 100.0, 100.0);
    }
    let aws = paced_aws(&emu, 2, rates).await;
    let session = aws.session(MANAGEMENT_ACCOUNT).await.unwrap();
    // SSM answers in JSON (the error type in a header), IAM in XML (the code in the body).
    emu.set_faults(json!({ "throttle": 1.0, "services": ["ssm", "iam"] }));
    let ssm = session.ssm("us-east-1").describe_parameters().send().await.unwrap_err();
    assert_eq!(classify(&ssm), ErrorClass::Throttled, "{ssm:?}");
    let iam = session.iam().list_roles().send().await.unwrap_err();
    assert_eq!(classify(&iam), ErrorClass::Throttled, "{iam:?}");
    session.sts().get_caller_identity().send().await.unwrap();
    emu.set_faults(json!({}));
    let rates_of = |service: &str| {
        let rates = aws.limiter_rates();
        let found: Vec<f64> =
            rates.iter().filter(|(k, _)| k.service == service).map(|(_, r)| *r).collect();
        assert!(!found.is_empty(), "{service}: {rates:?}");
        found
    };
    // Two throttled attempts: halved once (twice if the retry came after the half second in
    // which throttles count once), never below a sixteenth, recovering at 5 a second since.
    for service in ["ssm", "iam"] {
        let rates = rates_of(service);
        assert!(
            rates.len() == 1 && (100.0 / 16.0..60.0).contains(&rates[0]),
            "{service} slowed to half or less: {rates:?}"
        );
    }
    assert!(rates_of("sts").iter().all(|r| *r == 100.0), "an answered service keeps its ceiling");
}

#[tokio::test]
async fn codeconnections_through_the_sdk() {
    let emu = Emulator::start();
    let aws = aws(&emu, 3).await;
    let client = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().codeconnections("us-east-1");
    let created = client
        .create_connection()
        .connection_name("orgsplit-github")
        .provider_type(aws_sdk_codeconnections::types::ProviderType::Github)
        .send()
        .await
        .unwrap();
    let arn = created.connection_arn().to_string();
    assert!(
        arn.starts_with(&format!(
            "arn:aws:codeconnections:us-east-1:{MANAGEMENT_ACCOUNT}:connection/"
        )),
        "{arn}"
    );
    let got = client.get_connection().connection_arn(&arn).send().await.unwrap();
    let status = got.connection().unwrap().connection_status().unwrap().as_str().to_string();
    assert_eq!(status, "PENDING");
    let listed = client.list_connections().send().await.unwrap();
    assert_eq!(listed.connections().len(), 1);
    assert_eq!(listed.connections()[0].connection_name(), Some("orgsplit-github"));

    emu.mark_connection_available(&arn);
    let got = client.get_connection().connection_arn(&arn).send().await.unwrap();
    assert_eq!(got.connection().unwrap().connection_status().unwrap().as_str(), "AVAILABLE");

    let missing =
        client.get_connection().connection_arn(format!("{arn}-nope")).send().await.unwrap_err();
    assert_eq!(classify(&missing), ErrorClass::NotFound, "{missing:?}");
}

#[tokio::test]
async fn a_dropped_connection_is_a_dispatch_failure() {
    let emu = Emulator::start();
    let aws = aws(&emu, 1).await;
    let ssm = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().ssm("us-east-1");
    emu.set_faults(json!({ "drop": 1.0, "services": ["ssm"] }));
    let err = ssm.describe_parameters().send().await.unwrap_err();
    assert!(matches!(err, SdkError::DispatchFailure(_)), "{err:?}");
    assert_eq!(classify(&err), ErrorClass::Transient);
    let sent = ssm_requests(&emu);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["status"], 0, "logged as dropped");
}

#[tokio::test]
async fn the_request_log_counts_what_was_sent() {
    let emu = Emulator::start();
    let aws = aws(&emu, 3).await;
    let session = aws.session(MANAGEMENT_ACCOUNT).await.unwrap();
    emu.clear_requests();
    let before = aws.counter().total();
    let ssm = session.ssm("us-east-1");
    let logs = session.logs("eu-west-1");
    for i in 0..4 {
        ssm.put_parameter()
            .name(format!("/c/{i}"))
            .value("v")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
    }
    ssm.describe_parameters().send().await.unwrap();
    logs.describe_log_groups().send().await.unwrap();
    let log = emu.requests();
    assert_eq!(log.len(), 6, "{log:#?}");
    assert_eq!(aws.counter().total() - before, 6, "our counter agrees with the emulator");
    let mutating: Vec<_> = log
        .iter()
        .filter(|r| r["mutating"] == true)
        .map(|r| r["operation"].as_str().unwrap())
        .collect();
    assert_eq!(mutating, ["PutParameter"; 4]);
    assert!(log.iter().all(|r| r["account"] == MANAGEMENT_ACCOUNT));
    assert_eq!(log[5]["service"], "logs");
    assert_eq!(log[5]["region"], "eu-west-1");
    assert_eq!(log[5]["operation"], "DescribeLogGroups");
}

#[tokio::test]
async fn an_assumed_role_session_acts_in_its_account() {
    let emu = Emulator::start_with(Some("org-only"));
    let aws = aws(&emu, 3).await;
    let session = aws.session(orgsplit_testkit::SOURCE_ACCOUNT).await.unwrap();
    emu.clear_requests();
    session.ssm("us-east-1").describe_parameters().send().await.unwrap();
    let log = emu.requests();
    assert_eq!(log.last().unwrap()["account"], orgsplit_testkit::SOURCE_ACCOUNT, "{log:#?}");
}

/// The AssumeRole behind a member-account session is retried like every other call: a
/// throttled STS must not fail an apply (the faults suite found it did, with 3 attempts).
#[tokio::test]
async fn assume_role_is_retried_when_throttled() {
    let emu = Emulator::start_with(Some("org-only"));
    emu.set_faults(json!({ "throttle": 0.7, "services": ["sts"], "seed": 3 }));
    emu.clear_requests();
    for _ in 0..6 {
        // A fresh process each time: nothing cached.
        let aws = aws(&emu, 10).await;
        aws.session(orgsplit_testkit::SOURCE_ACCOUNT).await.unwrap_or_else(|e| {
            panic!(
                "the session opens despite throttling: {e}; log: {:?}",
                emu.requests()
                    .iter()
                    .filter(|r| r["service"] == "sts")
                    .map(|r| (r["operation"].clone(), r["status"].clone()))
                    .collect::<Vec<_>>()
            )
        });
    }
    let assume: Vec<_> =
        emu.requests().into_iter().filter(|r| r["operation"] == "AssumeRole").collect();
    let throttled = assume.iter().filter(|r| r["status"] == 400).count();
    assert!(throttled > 0, "the seed throttles some AssumeRole calls: {assume:#?}");
    assert_eq!(assume.len() - throttled, 6, "one success per session");
}

/// Under AWS's ECS quotas (the emulator's `"quotas": "aws"`: a bucket per documented action
/// category), orgsplit's default rates pace each call by its own category: the task-definition
/// reads wait for theirs, the cluster reads go by them, and nothing is throttled.
#[tokio::test]
async fn ecs_calls_wait_for_their_own_category_and_are_never_throttled() {
    let emu = Emulator::start();
    // One attempt: a throttled call fails, nothing hides behind a retry.
    let aws = paced_aws(&emu, 1, RateTable::default()).await;
    let ecs = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().ecs("us-east-1");
    let container = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("app")
        .image("nginx")
        .memory(64)
        .build();
    ecs.register_task_definition()
        .family("app")
        .container_definitions(container)
        .send()
        .await
        .unwrap();
    emu.set_faults(json!({ "quotas": "aws" }));
    emu.clear_requests();
    let start = std::time::Instant::now();
    // 90 task-definition reads (AWS: a bucket of 50 refilled at 20 a second; orgsplit takes
    // 40 of it: (90 - 40) / 20 = 2.5 s) and 30 cluster reads (a bucket of their own), all at once.
    let reads: Vec<_> = (0..90)
        .map(|i| {
            let ecs = ecs.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    let sent = ecs.describe_task_definition().task_definition("app").send().await;
                    sent.map(|_| ()).map_err(|e| format!("{e:?}"))
                } else {
                    let sent = ecs.list_task_definitions().send().await;
                    sent.map(|_| ()).map_err(|e| format!("{e:?}"))
                }
            })
        })
        .collect();
    let clusters: Vec<_> = (0..30)
        .map(|_| {
            let ecs = ecs.clone();
            tokio::spawn(async move {
                ecs.list_clusters().send().await.map(|_| ()).map_err(|e| format!("{e:?}"))
            })
        })
        .collect();
    let mut answers = Vec::new();
    for c in clusters {
        answers.push(c.await.unwrap());
    }
    let clusters_took = start.elapsed();
    for r in reads {
        answers.push(r.await.unwrap());
    }
    let reads_took = start.elapsed();
    emu.set_faults(json!({}));
    for answer in &answers {
        assert!(answer.is_ok(), "{answer:?}");
    }
    let ecs_requests: Vec<_> =
        emu.requests().into_iter().filter(|r| r["service"] == "ecs").collect();
    assert_eq!(ecs_requests.len(), 120, "one attempt each");
    assert!(ecs_requests.iter().all(|r| r["status"] == 200), "none throttled");
    assert!(reads_took.as_secs_f64() >= 2.4, "the reads waited for their bucket: {reads_took:?}");
    assert!(
        clusters_took < reads_took / 2,
        "the cluster reads did not wait behind them: {clusters_took:?} of {reads_took:?}"
    );
}

/// A call that waits for its limiter's token longer than the SDK's stalled-stream grace period
/// (5 s) is sent, not failed: the wait is orgsplit's own pacing, before a byte is written, and
/// not a stalled upload. (Under throttling, a halved `ssm:PutParameter` bucket makes such waits;
/// the faults suite saw `dispatch failure: timeout: minimum throughput was specified at 1 B/s,
/// but throughput of 0 B/s was observed` on PutParameter steps.)
#[tokio::test]
async fn a_call_paced_longer_than_the_sdks_grace_period_is_still_sent() {
    let emu = Emulator::start();
    let mut rates = RateTable::default();
    rates.set("ssm", 0.15, 1.0); // the second call waits about 6.7 s for its token
    let aws = paced_aws(&emu, 1, rates).await;
    let ssm = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().ssm("us-east-1");
    let start = std::time::Instant::now();
    for i in 0..2 {
        let sent = ssm
            .add_tags_to_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(format!("/paced/{i}"))
            .tags(aws_sdk_ssm::types::Tag::builder().key("k").value("v").build().unwrap())
            .send()
            .await;
        if let Err(e) = sent {
            // the parameter does not exist: the call was sent and answered, which is the point
            let e = e.into_service_error();
            assert_eq!(e.meta().code(), Some("InvalidResourceId"), "{e:?}");
        }
    }
    assert!(start.elapsed().as_secs_f64() >= 6.0, "{:?}", start.elapsed());
}

/// Under steady throttling a long run of calls never runs out of retries while each call has
/// attempts left. The SDK's default retry quota (500 tokens per partition, 5 taken by each
/// retry of a throttled call, 1 given back by a first-try success) is spent after about 250
/// calls at this rate, and the next throttled call then failed with `throttled` at its first
/// attempt: the faults suite's apply steps did (ssm, cloudformation). orgsplit turns the quota
/// off (`AccountSession::retry_partition`); its limiter slows a throttled service instead.
#[tokio::test]
async fn a_long_run_of_throttled_calls_never_runs_out_of_retries() {
    const WORKERS: usize = 16;
    const CALLS_EACH: usize = 40;
    let emu = Emulator::start();
    let aws = aws(&emu, 20).await;
    let ssm = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().ssm("us-east-1");
    emu.clear_requests();
    emu.set_faults(json!({ "throttle": 0.5, "seed": 5, "services": ["ssm"] }));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let ssm = ssm.clone();
        workers.spawn(async move {
            let mut failed = Vec::new();
            for _ in 0..CALLS_EACH {
                if let Err(e) = ssm.describe_parameters().max_results(1).send().await {
                    failed.push(format!("{:?}: {}", classify(&e), e));
                }
            }
            failed
        });
    }
    let mut failed = Vec::new();
    while let Some(done) = workers.join_next().await {
        failed.extend(done.unwrap());
    }
    emu.set_faults(json!({}));
    let sent = ssm_requests(&emu);
    let throttled = sent.iter().filter(|r| r["status"] == 400).count();
    let ok = sent.iter().filter(|r| r["status"] == 200).count();
    assert!(
        failed.is_empty(),
        "{} of {} calls failed ({throttled} throttled answers), first: {:?}",
        failed.len(),
        WORKERS * CALLS_EACH,
        failed.first()
    );
    assert_eq!(ok, WORKERS * CALLS_EACH, "each call answered once");
    assert!(throttled >= 300, "steady throttling: {throttled} throttled answers");
}
