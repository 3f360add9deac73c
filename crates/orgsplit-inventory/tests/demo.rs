//! The demo scenario, inventoried end to end against the emulator: every seeded resource
//! exactly once and nothing more, references and tags where the planner needs them, no
//! secret value anywhere, and not one mutating call.

use orgsplit_aws::{Aws, AwsOptions};
use orgsplit_inventory::{InventoryOptions, NoReporter};
use orgsplit_model::inventory::Inventory;
use orgsplit_model::{Resource, ResourceKind};
use orgsplit_testkit::{Emulator, SOURCE_ACCOUNT, scenario};
use serde_json::Value;

use orgsplit_testkit::runtime;

fn inventory(emu: &Emulator) -> Inventory {
    runtime().block_on(async {
        let aws = Aws::load(AwsOptions {
            endpoint_url: Some(emu.url.clone()),
            ..AwsOptions::new("us-east-1")
        })
        .await
        .expect("aws config");
        orgsplit_inventory::inventory(
            &aws,
            &InventoryOptions {
                source_account_id: SOURCE_ACCOUNT.into(),
                home_region: "us-east-1".into(),
                regions: vec!["us-east-1".into(), "eu-west-1".into()],
                created_at: "2026-01-01T00:00:00Z".into(),
                count_objects: true,
            },
            &NoReporter,
        )
        .await
        .expect("inventory")
    })
}

fn find<'a>(inv: &'a Inventory, kind: &str, name: &str) -> &'a Resource {
    let kind = ResourceKind::parse(kind).expect("kind");
    let hits: Vec<_> = inv.resources.iter().filter(|r| r.kind == kind && r.name == name).collect();
    assert_eq!(hits.len(), 1, "{kind}:{name}: {hits:#?}");
    hits[0]
}

/// Whether `r` is the expected entry `e` of the scenario.
fn matches(r: &Resource, e: &Value, inv: &Inventory) -> bool {
    let Some(kind) = e["kind"].as_str().and_then(ResourceKind::parse) else {
        panic!("bad expect entry {e}");
    };
    if r.kind != kind || r.region.as_deref() != e["region"].as_str() {
        return false;
    }
    if kind == ResourceKind::EcsTask {
        // Named by the family of the task definition it runs.
        let family = e["taskdef"].as_str().expect("taskdef");
        return r.references.iter().any(|reference| {
            inv.resources.iter().any(|td| {
                td.kind == ResourceKind::EcsTaskDefinition
                    && td.name == family
                    && reference.arn.starts_with(&format!(
                        "{}:",
                        td.arn.rsplit_once(':').map_or(td.arn.as_str(), |(a, _)| a)
                    ))
            })
        });
    }
    e["name"].as_str() == Some(r.name.as_str())
}

#[test]
fn inventories_the_demo_account() {
    let emu = Emulator::start_with(Some("demo"));
    emu.export_env();
    emu.clear_requests();
    let inv = inventory(&emu);
    if let Some(path) = std::env::var_os("ORGSPLIT_INVENTORY_DUMP") {
        let json = serde_json::to_string_pretty(&inv).expect("serialise");
        std::fs::write(path, json).expect("dump the inventory");
    }
    let demo = scenario("demo");
    let expect = demo["expect"].as_array().expect("expect");

    // Every expected resource exactly once.
    let mut claimed = vec![false; inv.resources.len()];
    for e in expect {
        let hits: Vec<usize> = inv
            .resources
            .iter()
            .enumerate()
            .filter(|(_, r)| matches(r, e, &inv))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(hits.len(), 1, "expected exactly one match for {e}: {hits:?}");
        claimed[hits[0]] = true;
    }
    // And nothing else.
    let extra: Vec<String> = inv
        .resources
        .iter()
        .zip(&claimed)
        .filter(|(_, c)| !**c)
        .map(|(r, _)| r.label("us-east-1"))
        .collect();
    assert!(extra.is_empty(), "resources the scenario does not list: {extra:#?}");
    assert_eq!(inv.resources.len(), expect.len());

    // The task definition's references: roles, parameters, log group, ECR repository.
    let td = find(&inv, "ecs-taskdef", "prod-mail-sender");
    assert!(
        td.arn.starts_with("arn:aws:ecs:us-east-1:111111111111:task-definition/prod-mail-sender:"),
        "{}",
        td.arn
    );
    let refs: Vec<&str> = td.references.iter().map(|r| r.arn.as_str()).collect();
    let wanted_refs = [
        "arn:aws:iam::111111111111:role/ecs-task-execution",
        "arn:aws:iam::111111111111:role/prod-mail-sender-task",
        "arn:aws:logs:us-east-1:111111111111:log-group:/ecs/prod-mail-sender",
        "arn:aws:ecr:us-east-1:111111111111:repository/mail-sender",
    ];
    for want in wanted_refs {
        assert!(refs.contains(&want), "{want} not in {refs:#?}");
    }
    let seeded = demo["workloads"]["task_definitions"]
        .as_array()
        .expect("task definitions")
        .iter()
        .rfind(|t| t["family"] == "prod-mail-sender")
        .expect("prod-mail-sender seeded");
    for (j, s) in seeded["containers"][0]["secrets"].as_array().expect("secrets").iter().enumerate()
    {
        let from = s["valueFrom"].as_str().expect("valueFrom");
        // "{secret-arn:NAME}": the seeder names the secret by its full ARN, random suffix and all.
        let arn = match from.strip_prefix("{secret-arn:").and_then(|n| n.strip_suffix('}')) {
            Some(name) => inv
                .resources
                .iter()
                .find(|r| {
                    // the primary, not its eu-west-1 replica
                    r.kind == ResourceKind::Secret
                        && r.name == name
                        && r.region.as_deref() == Some("us-east-1")
                })
                .map(|r| r.arn.as_str())
                .unwrap_or_else(|| panic!("secret {name} is not in the inventory")),
            None => from,
        };
        assert!(
            td.references.iter().any(|r| r.arn == arn
                && r.via == format!("containerDefinitions[0].secrets[{j}].valueFrom")),
            "{arn} not referenced: {:#?}",
            td.references
        );
        // Each referenced parameter is in the inventory under that very ARN.
        assert!(inv.resources.iter().any(|r| r.arn == arn), "{arn} is not an inventoried ARN");
    }
    // The latest revision, with the API's own JSON names.
    let container = &td.config["containerDefinitions"][0];
    assert_eq!(container["image"], seeded["containers"][0]["image"]);
    assert_eq!(container["logConfiguration"]["logDriver"], "awslogs");
    assert_eq!(td.config["family"], "prod-mail-sender");
    assert_eq!(td.config["cpu"], seeded["cpu"]);

    // Every reference of a task definition, service, rule or schedule to something in the
    // source account resolves to an inventoried resource (except task-definition
    // revisions, which resolve by family in the planner).
    for r in &inv.resources {
        for reference in &r.references {
            if reference.arn.contains(":task-definition/") {
                continue;
            }
            assert!(
                inv.resources.iter().any(|x| x.arn == reference.arn),
                "{} references {} ({}), which is not inventoried",
                r.label("us-east-1"),
                reference.arn,
                reference.via
            );
        }
    }
    let service = find(&inv, "ecs-service", "batch/prod-api");
    assert_eq!(service.config["desiredCount"], 2);
    assert!(
        service.config["taskDefinition"]
            .as_str()
            .is_some_and(|t| t.contains(":task-definition/prod-api:"))
    );
    let rule = find(&inv, "events-rule", "prod-nightly-mail");
    assert_eq!(rule.config["ScheduleExpression"], "cron(0 2 * * ? *)");
    assert!(
        rule.config["Targets"][0]["EcsParameters"]["TaskDefinitionArn"]
            .as_str()
            .is_some_and(|t| t.contains(":task-definition/prod-mail-sender"))
    );
    let schedule = find(&inv, "schedule", "default/dev-mail-hourly");
    assert_eq!(schedule.config["ScheduleExpression"], "rate(1 hour)");
    assert!(
        schedule
            .references
            .iter()
            .any(|r| r.arn == "arn:aws:iam::111111111111:role/scheduler-run-task")
    );

    // Roles: trust and inline policies as JSON; attached customer policies referenced.
    let exec = find(&inv, "iam-role", "ecs-task-execution");
    assert_eq!(exec.region, None);
    assert_eq!(
        exec.config["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "ecs-tasks.amazonaws.com"
    );
    assert!(exec.config["InlinePolicies"]["pull-and-log"]["Statement"].is_array());
    let policy = find(&inv, "iam-policy", "prod-mailer-ses-send");
    assert_eq!(policy.config["Document"]["Statement"][0]["Action"][0], "ses:SendEmail");
    let attached_to: Vec<&str> = inv
        .resources
        .iter()
        .filter(|r| r.references.iter().any(|x| x.arn == policy.arn))
        .map(|r| r.name.as_str())
        .collect();
    assert!(!attached_to.is_empty(), "no role references {}", policy.arn);

    // Tags: from the Tagging API sweep (SSM) and from CodePipeline's own call.
    for p in demo["workloads"]["ssm_parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["tags"].is_object())
    {
        let r = find(&inv, "ssm", p["name"].as_str().expect("name"));
        let mut reserved = 0;
        for (k, v) in p["tags"].as_object().expect("tags") {
            if k.to_ascii_lowercase().starts_with("aws:") {
                // CloudFormation's tags: dropped at inventory (AWS refuses to write them).
                assert_eq!(r.tags.get(k), None, "{}: {k} kept", r.name);
                reserved += 1;
            } else {
                assert_eq!(r.tags.get(k).map(String::as_str), v.as_str(), "{}", r.name);
            }
        }
        assert_eq!(r.reserved_tags_dropped, reserved, "{}", r.name);
    }
    assert_eq!(
        inv.resources.iter().map(|r| r.reserved_tags_dropped).sum::<usize>(),
        6,
        "the demo's two CloudFormation-made parameters carry 3 aws: tags each"
    );
    let pipeline = find(&inv, "pipeline", "mail-sender-release");
    assert_eq!(pipeline.tags.get("Environment").map(String::as_str), Some("prod"));
    let bucket = find(&inv, "s3", "acme-terraform-state");
    assert_eq!(bucket.tags.get("Environment").map(String::as_str), Some("shared"));
    assert_eq!(bucket.config["Versioning"], "Enabled");
    assert_eq!(bucket.config["ObjectCount"], 3);
    let release = find(&inv, "pipeline", "prod-api-release");
    assert_eq!(release.config["webhooks"].as_array().map(Vec::len), Some(1), "{}", release.config);
    assert!(release.references.iter().any(|r| r.arn == "arn:aws:s3:::acme-pipeline-artifacts"));
    let dump = release.config.to_string();
    assert!(!dump.contains("OAuthToken") && !dump.contains("SecretToken"), "{dump}");

    // The organization.
    assert!(
        inv.organization.accounts.iter().any(|a| a.id == SOURCE_ACCOUNT),
        "{:?}",
        inv.organization.accounts
    );

    // No secret value anywhere in the file.
    let json = serde_json::to_string(&inv).expect("serialise");
    for secret in demo["secrets"].as_array().expect("secrets") {
        let secret = secret.as_str().expect("secret");
        assert!(!json.contains(secret), "a secret value is in the inventory: {secret}");
    }
    assert!(!json.contains("****"), "a masked token is in the inventory");

    // Read only.
    let requests = emu.requests();
    assert!(!requests.is_empty());
    let mutating = emu.mutating_requests();
    assert!(mutating.is_empty(), "mutating calls: {mutating:#?}");
    let forbidden: Vec<&Value> = requests
        .iter()
        .filter(|r| {
            matches!(
                r["operation"].as_str(),
                Some(
                    "GetParameter"
                        | "GetParameters"
                        | "GetParametersByPath"
                        | "GetSecretValue"
                        | "BatchGetSecretValue"
                        | "GetObject"
                )
            )
        })
        .collect();
    assert!(forbidden.is_empty(), "secret reads: {forbidden:#?}");
}
