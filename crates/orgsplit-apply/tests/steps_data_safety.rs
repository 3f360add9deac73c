//! The data copy steps' safety: no secret value in any outcome or error, and a plan asking
//! for what apply does not do (copying objects) refused before any change.
#![allow(clippy::print_stdout)]

mod common;

use common::data::*;

/// The scenario's secret values, as the seeder put them in the source.
fn seeded_secrets() -> Vec<String> {
    orgsplit_testkit::scenario("demo")["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn assert_no_secret(text: &str, secrets: &[String], what: &str) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} shows a secret value: {text}");
    }
}

/// Outcomes and errors of the steps that handle secret values never show one, even when
/// AWS fails a call that carried the value.
#[test]
fn no_secret_value_in_outcomes_or_errors() {
    let world = World::demo(&["dev-workloads", "dev-admin"]);
    let secrets = seeded_secrets();
    let (emu, rt, aws, plan, ids) = world.parts();
    let secret_steps: Vec<&Step> = data_steps(plan, "dev/dev-workloads")
        .into_iter()
        .filter(|s| matches!(s.kind(), StepKind::SsmParameter | StepKind::Secret))
        .collect();
    assert!(secret_steps.len() > 10);

    let mut seen = 0;
    rt.block_on(async {
        for step in &secret_steps {
            let cx = common::context(aws, plan, step, ids);
            let outcome = run_step(&cx).await;
            assert_no_secret(&format!("{outcome:?}"), &secrets, &step.address);
            seen += 1;
        }
    });

    // Writes that carry a value fail (throttled, and no retry): the target's copies
    // drifted first, so that the steps have to write.
    let drifted = [
        "dev/dev-workloads/ssm:/dev/mailer/SMTP_PASSWORD",
        "dev/dev-workloads/ssm:/dev/api/STRIPE_KEY",
        "dev/dev-workloads/secret:dev/mailer/api-key",
    ];
    let target = ids["dev-workloads"].clone();
    rt.block_on(async {
        let dest = aws.session(&target).await.unwrap();
        for name in ["/dev/mailer/SMTP_PASSWORD", "/dev/api/STRIPE_KEY"] {
            dest.ssm("us-east-1").delete_parameter().name(name).send().await.unwrap();
        }
        change_secret_by_hand(&dest).await;
    });
    let never = serde_json::json!({ "rate": 0.001, "burst": 0 });
    emu.set_faults(serde_json::json!({ "rates": {
        "ssm:PutParameter": never,
        "secretsmanager:PutSecretValue": never,
    } }));
    let strict = rt.block_on(async {
        Aws::load(AwsOptions {
            endpoint_url: Some(emu.url.clone()),
            max_attempts: 1,
            ..AwsOptions::new("us-east-1")
        })
        .await
        .expect("aws")
    });
    let mut errors: Vec<StepError> = Vec::new();
    rt.block_on(async {
        for address in drifted {
            let cx = common::context(&strict, plan, common::step(plan, address), ids);
            match run_step(&cx).await {
                Err(e) => {
                    assert!(
                        e.to_string().contains("PutParameter")
                            || e.to_string().contains("PutSecretValue"),
                        "{address}: not the write that failed: {e}"
                    );
                    errors.push(e)
                }
                Ok(o) => panic!("{address}: succeeded with its write throttled: {o:?}"),
            }
        }
    });

    // Every call failing (HTTP 500): errors from wherever each step stops.
    emu.set_faults(serde_json::json!({ "error5xx": 1.0 }));
    rt.block_on(async {
        for step in secret_steps.iter().take(3) {
            let cx = common::context(&strict, plan, step, ids);
            match run_step(&cx).await {
                Err(e) => errors.push(e),
                Ok(o) => panic!("{}: succeeded with every call failing: {o:?}", step.address),
            }
        }
    });
    emu.set_faults(serde_json::json!({}));

    assert!(errors.len() >= 6, "{} errors", errors.len());
    for e in &errors {
        assert_no_secret(&format!("{e:?}"), &secrets, "an error's Debug");
        assert_no_secret(&e.to_string(), &secrets, "an error's Display");
        assert!(!e.to_string().contains('\n'), "a multi-line error: {e}");
        println!("error (checked): {e}");
    }
    println!("{seen} outcomes and {} errors checked for {} secrets", errors.len(), secrets.len());
}

/// A plan that asks for the objects to be copied is refused before anything is created.
#[test]
fn copying_objects_is_refused_before_any_change() {
    let world = World::demo(&["dev-workloads", "dev-admin"]);
    let (emu, rt, aws, plan, ids) = world.parts();
    let mut bucket = common::step(plan, "dev/dev-workloads/s3:acme-terraform-state").clone();
    match &mut bucket.spec {
        StepSpec::S3Bucket(inputs) => inputs.copy_objects = true,
        other => panic!("not a bucket step: {other:?}"),
    }
    emu.clear_requests();
    let result = rt.block_on(async {
        let cx = common::context(aws, plan, &bucket, ids);
        run_step(&cx).await
    });
    let err = result.expect_err("copy_objects accepted");
    assert!(err.to_string().contains("not supported"), "{err}");
    assert!(emu.mutating_requests().is_empty());
}
