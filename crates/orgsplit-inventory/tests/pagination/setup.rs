//! Seeds the source account with more of each kind than one page holds.

use super::*;

pub(super) async fn setup(s: &AccountSession, (subnet, group): &(String, String)) -> Res {
    let network = aws_sdk_ecs::types::NetworkConfiguration::builder()
        .awsvpc_configuration(
            aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                .subnets(subnet)
                .security_groups(group)
                .build()?,
        )
        .build();
    let account = MANAGEMENT_ACCOUNT;
    let ssm = s.ssm(REGION);
    each(PARAMETERS, |i| {
        let ssm = ssm.clone();
        async move {
            let mut put = ssm
                .put_parameter()
                .name(format!("/app/p{i:03}"))
                .value(format!("value-{i}"))
                .r#type(aws_sdk_ssm::types::ParameterType::String);
            if i == 0 {
                put =
                    put.tags(aws_sdk_ssm::types::Tag::builder().key("team").value("core").build()?);
            }
            put.send().await?;
            Ok(())
        }
    })
    .await?;
    let sm = s.secretsmanager(REGION);
    each(SECRETS, |i| {
        let sm = sm.clone();
        async move {
            sm.create_secret()
                .name(format!("app/s{i:03}"))
                .secret_string(format!("{SECRET_VALUE}-{i}"))
                .tags(
                    aws_sdk_secretsmanager::types::Tag::builder()
                        .key("n")
                        .value(i.to_string())
                        .build(),
                )
                .send()
                .await?;
            Ok(())
        }
    })
    .await?;
    let logs = s.logs(REGION);
    each(LOG_GROUPS, |i| {
        let logs = logs.clone();
        async move {
            logs.create_log_group().log_group_name(format!("/app/g{i:03}")).send().await?;
            Ok(())
        }
    })
    .await?;

    // IAM: roles (one with an attached customer policy), policies with tags.
    let iam = s.iam();
    let trust = |service: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
        )
    };
    for i in 0..POLICIES {
        iam.create_policy()
            .policy_name(format!("policy-{i}"))
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#,
            )
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("n")
                    .value(i.to_string())
                    .build()?,
            )
            .send()
            .await?;
    }
    for i in 0..ROLES - 1 {
        iam.create_role()
            .role_name(format!("role-{i}"))
            .assume_role_policy_document(trust("ecs-tasks.amazonaws.com"))
            .send()
            .await?;
    }
    iam.attach_role_policy()
        .role_name("role-0")
        .policy_arn(format!("arn:aws:iam::{account}:policy/policy-0"))
        .send()
        .await?;
    iam.create_role()
        .role_name("pipeline-role")
        .assume_role_policy_document(trust("codepipeline.amazonaws.com"))
        .send()
        .await?;
    // Skipped by the collector: a service-linked role and the access role.
    iam.create_role()
        .role_name("AWSServiceRoleForECS")
        .path("/aws-service-role/ecs.amazonaws.com/")
        .assume_role_policy_document(trust("ecs.amazonaws.com"))
        .send()
        .await?;
    iam.create_role()
        .role_name("OrganizationAccountAccessRole")
        .assume_role_policy_document(trust("ecs.amazonaws.com"))
        .send()
        .await?;

    // ECS: two clusters, one with every service and task.
    let ecs = s.ecs(REGION);
    for c in ["big", "small"] {
        ecs.create_cluster().cluster_name(c).send().await?;
    }
    for i in 0..FAMILIES {
        ecs.register_task_definition()
            .family(format!("fam-{i:02}"))
            .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
            .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("app")
                    .image(format!("{account}.dkr.ecr.{REGION}.amazonaws.com/repo-0:1"))
                    .cpu(256)
                    .memory(512)
                    .essential(true)
                    .build(),
            )
            .send()
            .await?;
    }
    for i in 0..SERVICES {
        ecs.create_service()
            .cluster("big")
            .service_name(format!("svc-{i:02}"))
            .task_definition(format!("fam-{:02}", i % FAMILIES))
            .desired_count(1)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .network_configuration(network.clone())
            .send()
            .await?;
    }
    let mut started = 0;

    while started < TASKS {
        let n = (TASKS - started).min(10);
        let out = ecs
            .run_task()
            .cluster("big")
            .task_definition("fam-00")
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .count(n as i32)
            .network_configuration(network.clone())
            .started_by("batch")
            .send()
            .await?;
        started += out.tasks().len();
        if out.tasks().is_empty() {
            return Err(format!("RunTask started nothing: {:?}", out.failures()).into());
        }
    }

    // EventBridge rules, some with an ECS target.
    let events = s.events(REGION);
    each(RULES, |i| {
        let events = events.clone();
        async move {
            let name = format!("rule-{i:03}");
            events.put_rule().name(&name).schedule_expression("rate(1 day)").send().await?;
            if i < 3 {
                events
                    .put_targets()
                    .rule(&name)
                    .targets(
                        aws_sdk_eventbridge::types::Target::builder()
                            .id("t")
                            .arn(format!("arn:aws:ecs:{REGION}:{account}:cluster/big"))
                            .role_arn(format!("arn:aws:iam::{account}:role/role-1"))
                            .build()?,
                    )
                    .send()
                    .await?;
            }
            Ok(())
        }
    })
    .await?;

    let scheduler = s.scheduler(REGION);
    for i in 0..SCHEDULES {
        scheduler
            .create_schedule()
            .name(format!("sched-{i}"))
            .schedule_expression("rate(1 hour)")
            .flexible_time_window(
                aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
                    .mode(aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
                    .build()?,
            )
            .target(
                aws_sdk_scheduler::types::Target::builder()
                    .arn(format!("arn:aws:ecs:{REGION}:{account}:cluster/big"))
                    .role_arn(format!("arn:aws:iam::{account}:role/role-2"))
                    .build()?,
            )
            .send()
            .await?;
    }

    let ecr = s.ecr(REGION);
    for i in 0..REPOSITORIES {
        ecr.create_repository()
            .repository_name(format!("repo-{i}"))
            .tags(aws_sdk_ecr::types::Tag::builder().key("n").value(i.to_string()).build()?)
            .send()
            .await?;
    }

    // S3: a bucket here with more than a page of objects, one in another region.
    let s3 = s.s3(REGION);
    s3.create_bucket().bucket("big-bucket").send().await?;
    s.s3("eu-west-1")
        .create_bucket()
        .bucket("eu-bucket")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await?;
    each(OBJECTS, |i| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket("big-bucket")
                .key(format!("k/{i:04}"))
                .body(aws_sdk_s3::primitives::ByteStream::from_static(b"12345"))
                .send()
                .await?;
            Ok(())
        }
    })
    .await?;

    // Pipelines (GitHub v1 source with a token) and webhooks on the first one.
    let cp = s.codepipeline(REGION);
    use aws_sdk_codepipeline::types as cpt;
    for i in 0..PIPELINES {
        let source = cpt::ActionDeclaration::builder()
            .name("Source")
            .action_type_id(
                cpt::ActionTypeId::builder()
                    .category(cpt::ActionCategory::Source)
                    .owner(cpt::ActionOwner::ThirdParty)
                    .provider("GitHub")
                    .version("1")
                    .build()?,
            )
            .configuration("Owner", "acme")
            .configuration("Repo", "app")
            .configuration("Branch", "main")
            .configuration("OAuthToken", GITHUB_TOKEN)
            .output_artifacts(cpt::OutputArtifact::builder().name("src").build()?)
            .build()?;
        let approve = cpt::ActionDeclaration::builder()
            .name("Approve")
            .action_type_id(
                cpt::ActionTypeId::builder()
                    .category(cpt::ActionCategory::Approval)
                    .owner(cpt::ActionOwner::Aws)
                    .provider("Manual")
                    .version("1")
                    .build()?,
            )
            .build()?;
        cp.create_pipeline()
            .pipeline(
                cpt::PipelineDeclaration::builder()
                    .name(format!("pipe-{i}"))
                    .role_arn(format!("arn:aws:iam::{account}:role/pipeline-role"))
                    .artifact_store(
                        cpt::ArtifactStore::builder()
                            .r#type(cpt::ArtifactStoreType::S3)
                            .location("big-bucket")
                            .build()?,
                    )
                    .stages(
                        cpt::StageDeclaration::builder().name("Source").actions(source).build()?,
                    )
                    .stages(
                        cpt::StageDeclaration::builder()
                            .name("Approve")
                            .actions(approve)
                            .build()?,
                    )
                    .build()?,
            )
            .tags(cpt::Tag::builder().key("n").value(i.to_string()).build()?)
            .send()
            .await?;
    }
    each(WEBHOOKS, |i| {
        let cp = cp.clone();
        async move {
            cp.put_webhook()
                .webhook(
                    cpt::WebhookDefinition::builder()
                        .name(format!("hook-{i:03}"))
                        .target_pipeline("pipe-0")
                        .target_action("Source")
                        .filters(
                            cpt::WebhookFilterRule::builder()
                                .json_path("$.ref")
                                .match_equals("refs/heads/{Branch}")
                                .build()?,
                        )
                        .authentication(cpt::WebhookAuthenticationType::GithubHmac)
                        .authentication_configuration(
                            cpt::WebhookAuthConfiguration::builder()
                                .secret_token(WEBHOOK_SECRET)
                                .build(),
                        )
                        .build()?,
                )
                .send()
                .await?;
            Ok(())
        }
    })
    .await?;
    Ok(())
}
