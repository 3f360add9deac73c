//! Runs the collectors: regional ones for every region at once, global ones (IAM, the S3
//! bucket list) once, then merges the Tagging API sweep.

use futures::future::try_join_all;
use orgsplit_aws::AccountSession;
use orgsplit_model::{Resource, ResourceKind};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use crate::{
    InventoryError, InventoryOptions, Reporter, codebuild, ecr, ecs, events, iam, kms, logs,
    pipelines, s3, scheduler, secretsmanager, ssm, tagging,
};

type Collected<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Resource>, InventoryError>> + Send + 'a>>;

async fn reported<'a>(
    reporter: &'a dyn Reporter,
    name: String,
    fut: Collected<'a>,
) -> Result<Vec<Resource>, InventoryError> {
    reporter.collector_started(&name);
    let out = fut.await?;
    reporter.collector_finished(&name, out.len());
    Ok(out)
}

/// A regional collector.
type Regional = for<'a> fn(&'a AccountSession, &'a str) -> Collected<'a>;

/// The regional collectors, by name.
const REGIONAL: &[(&str, Regional)] = &[
    ("ssm", |s, r| Box::pin(ssm::collect(s, r))),
    ("secretsmanager", |s, r| Box::pin(secretsmanager::collect(s, r))),
    ("ecs", |s, r| Box::pin(ecs::collect(s, r))),
    ("events", |s, r| Box::pin(events::collect(s, r))),
    ("scheduler", |s, r| Box::pin(scheduler::collect(s, r))),
    ("codepipeline", |s, r| Box::pin(pipelines::collect(s, r))),
    ("logs", |s, r| Box::pin(logs::collect(s, r))),
    ("ecr", |s, r| Box::pin(ecr::collect(s, r))),
    ("kms", |s, r| Box::pin(kms::collect(s, r))),
    ("codebuild", |s, r| Box::pin(codebuild::collect(s, r))),
];

/// The collectors whose resources name KMS keys: where one runs, the KMS collector runs too,
/// so those names resolve to the same key ARNs the inventory recorded.
const NAMES_KEYS: [&str; 5] = ["ssm", "secretsmanager", "logs", "s3", "codebuild"];

/// The collector that lists a kind (`None`: only the Tagging API sweep finds it).
pub fn collector_of(kind: ResourceKind) -> Option<&'static str> {
    Some(match kind {
        ResourceKind::SsmParameter => "ssm",
        ResourceKind::Secret => "secretsmanager",
        ResourceKind::IamPolicy | ResourceKind::IamRole => "iam",
        ResourceKind::EcrRepository => "ecr",
        ResourceKind::LogGroup => "logs",
        ResourceKind::S3Bucket => "s3",
        ResourceKind::EcsCluster
        | ResourceKind::EcsTaskDefinition
        | ResourceKind::EcsService
        | ResourceKind::EcsTask => "ecs",
        ResourceKind::EventsRule => "events",
        ResourceKind::Schedule => "scheduler",
        ResourceKind::Pipeline => "codepipeline",
        ResourceKind::KmsKey => "kms",
        ResourceKind::CodeBuildProject => "codebuild",
        ResourceKind::Other => return None,
    })
}

/// Every resource of the account in `opts`' regions; with `only`, just the collectors named
/// there run (the Tagging API sweep always does: it gives some kinds their tags).
pub async fn collect_account(
    session: &AccountSession,
    opts: &InventoryOptions,
    access_role: &str,
    only: Option<&BTreeSet<&str>>,
    reporter: &dyn Reporter,
) -> Result<Vec<Resource>, InventoryError> {
    let names_keys = only.is_none_or(|o| NAMES_KEYS.iter().any(|c| o.contains(c)));
    let runs = |name: &str| only.is_none_or(|o| o.contains(name)) || (name == "kms" && names_keys);
    let mut jobs: Vec<Collected<'_>> = Vec::new();
    for region in &opts.regions {
        let r = region.as_str();
        for (name, collector) in REGIONAL.iter().filter(|(name, _)| runs(name)) {
            jobs.push(Box::pin(reported(reporter, format!("{name}@{r}"), collector(session, r))));
        }
    }
    // Global: IAM once; S3's bucket list once (each bucket then in its own region).
    if runs("iam") {
        let iam = Box::pin(iam::collect(session, access_role));
        jobs.push(Box::pin(reported(reporter, "iam".to_string(), iam)));
    }
    if runs("s3") {
        let s3 = Box::pin(s3::collect(session, &opts.home_region, opts.count_objects));
        jobs.push(Box::pin(reported(reporter, "s3".to_string(), s3)));
    }
    let mut sweeps = Vec::new();
    for region in &opts.regions {
        sweeps.push(async move {
            reporter.collector_started(&format!("tagging@{region}"));
            let s = tagging::sweep(session, region).await?;
            reporter.collector_finished(&format!("tagging@{region}"), s.len());
            Ok::<_, InventoryError>((region.clone(), s))
        });
    }
    let (collected, swept) = futures::try_join!(try_join_all(jobs), try_join_all(sweeps))?;
    let mut resources: Vec<Resource> = collected.into_iter().flatten().collect();
    merge_sweep(&mut resources, swept.into_iter().collect());
    kms::resolve_key_references(&mut resources);
    secretsmanager::link_replicas(&mut resources);
    Ok(resources)
}

/// Adds the sweep's tags to collected resources, and turns every swept ARN no collector
/// accounts for into an `other` resource.
fn merge_sweep(
    resources: &mut Vec<Resource>,
    swept: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
) {
    let mut by_arn: BTreeMap<String, usize> =
        resources.iter().enumerate().map(|(i, r)| (r.arn.clone(), i)).collect();
    let families: BTreeSet<(String, String)> = resources
        .iter()
        .filter(|r| r.kind == ResourceKind::EcsTaskDefinition)
        .map(|r| (r.region.clone().unwrap_or_default(), r.name.clone()))
        .collect();
    let mut others = Vec::new();
    for (region, arns) in swept {
        for (arn, tags) in arns {
            if let Some(&i) = by_arn.get(&arn).or_else(|| by_arn.get(arn.trim_end_matches(":*"))) {
                resources[i].add_tags(tags);
                continue;
            }
            if let Some(family) = arn
                .split(":task-definition/")
                .nth(1)
                .map(|rest| rest.rsplit_once(':').map_or(rest, |(f, _)| f))
                && families.contains(&(region.clone(), family.to_string()))
            {
                continue;
            }
            if tagging::is_covered_service(&arn) {
                // A kind a collector lists in full (an older task-definition revision, a
                // stopped task): nothing to migrate that the collector has not seen.
                tracing::debug!(%arn, "tagged resource of a collected kind not in the listing");
                continue;
            }
            by_arn.insert(arn.clone(), usize::MAX);
            others.push(crate::unmigrated::other(&arn, &region, tags));
        }
    }
    resources.extend(others);
}
