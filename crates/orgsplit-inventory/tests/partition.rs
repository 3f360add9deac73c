//! An account in another partition (`aws-cn`), inventoried against the emulator: the
//! partition comes from the caller's identity (`arn:aws-cn:sts::…`), and every ARN orgsplit
//! builds (log groups, parameters named by a bare name, roles named by name) is in it.

use aws_sdk_ecs::types::{ContainerDefinition, LogConfiguration, LogDriver, Secret};
use orgsplit_aws::{Aws, AwsOptions};
use orgsplit_inventory::{InventoryOptions, NoReporter};
use orgsplit_model::ResourceKind;
use orgsplit_testkit::{Emulator, runtime};

const REGION: &str = "cn-north-1";

#[test]
fn every_arn_of_an_aws_cn_account_is_in_aws_cn() {
    let emu = Emulator::start();
    emu.export_env();
    runtime().block_on(async {
        let aws = Aws::load(AwsOptions {
            endpoint_url: Some(emu.url.clone()),
            ..AwsOptions::new(REGION)
        })
        .await
        .expect("aws config");
        let (account, caller_arn) = aws.caller().await.expect("caller");
        assert!(caller_arn.starts_with("arn:aws-cn:"), "caller {caller_arn}");
        assert_eq!(aws.partition().await.expect("partition"), "aws-cn");
        let session = aws.session(&account).await.expect("session");
        assert_eq!(session.partition, "aws-cn");

        // What a task definition names by name, not ARN: orgsplit builds those ARNs.
        session
            .ssm(REGION)
            .put_parameter()
            .name("/prod/app/DB_URL")
            .value("postgres://db")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .expect("put parameter");
        session
            .logs(REGION)
            .create_log_group()
            .log_group_name("/ecs/prod")
            .send()
            .await
            .expect("log group");
        let container = ContainerDefinition::builder()
            .name("api")
            .image("nginx:1.25")
            .memory(256)
            .secrets(
                Secret::builder().name("DB_URL").value_from("/prod/app/DB_URL").build().unwrap(),
            )
            .log_configuration(
                LogConfiguration::builder()
                    .log_driver(LogDriver::Awslogs)
                    .options("awslogs-group", "/ecs/prod")
                    .options("awslogs-region", REGION)
                    .build()
                    .unwrap(),
            )
            .build();
        session
            .ecs(REGION)
            .register_task_definition()
            .family("prod-api")
            .task_role_arn("prod-task")
            .container_definitions(container)
            .send()
            .await
            .expect("task definition");

        let opts = InventoryOptions {
            source_account_id: account.clone(),
            home_region: REGION.into(),
            regions: vec![REGION.into()],
            created_at: "2026-01-01T00:00:00Z".into(),
            count_objects: false,
        };
        let resources = orgsplit_inventory::collect_account(&session, &opts, &NoReporter)
            .await
            .expect("inventory");
        let kinds: Vec<ResourceKind> = resources.iter().map(|r| r.kind).collect();
        for kind in
            [ResourceKind::SsmParameter, ResourceKind::LogGroup, ResourceKind::EcsTaskDefinition]
        {
            assert!(kinds.contains(&kind), "{kind} not inventoried: {kinds:?}");
        }
        for r in &resources {
            assert!(r.arn.starts_with("arn:aws-cn:"), "{} {}: {}", r.kind, r.name, r.arn);
            for reference in &r.references {
                assert!(
                    reference.arn.starts_with("arn:aws-cn:"),
                    "{} {} references {} ({})",
                    r.kind,
                    r.name,
                    reference.arn,
                    reference.via
                );
            }
        }
        let task_definition = resources
            .iter()
            .find(|r| r.kind == ResourceKind::EcsTaskDefinition)
            .expect("task definition");
        let referenced: Vec<&str> =
            task_definition.references.iter().map(|r| r.arn.as_str()).collect();
        for wanted in [
            format!("arn:aws-cn:ssm:{REGION}:{account}:parameter/prod/app/DB_URL"),
            format!("arn:aws-cn:logs:{REGION}:{account}:log-group:/ecs/prod"),
            format!("arn:aws-cn:iam::{account}:role/prod-task"),
        ] {
            assert!(referenced.contains(&wanted.as_str()), "{wanted} not in {referenced:?}");
        }
    });
}
