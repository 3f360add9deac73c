//! The step for one resource in one workloads account: a copy of it (its kind's typed
//! inputs), or a manual item with a note saying why.

use orgsplit_model::config::{Config, NetworkMapping};
use orgsplit_model::resource_config::ResourceConfig;
use orgsplit_model::step::{self, StepSpec};
use orgsplit_model::{Action, Resource, ResourceKind, Step};
use serde_json::{Value, json};

use crate::buckets::bucket_copy_name;
use crate::rewrite::{Rewriter, Rewritten};

/// A cluster's capacity providers other than the two AWS Fargate ones (which exist in every
/// account).
fn custom_capacity_providers(cluster: &ResourceConfig) -> Vec<String> {
    let mut providers = listed(cluster, "capacityProviders");
    providers.retain(|p| !matches!(p.as_str(), "FARGATE" | "FARGATE_SPOT"));
    providers
}

/// The strings of the array member `key` of `config` (its other items left out). Members of
/// an inventory's configuration are read with [`ResourceConfig::member`], never through its
/// tree, which would be parsed and then kept in the inventory.
fn listed(config: &ResourceConfig, key: &str) -> Vec<String> {
    match config.member(key) {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The step for one resource in one workloads account: a copy, or a manual item.
#[allow(clippy::too_many_arguments)]
pub(crate) fn resource_step(
    r: &Resource,
    address: &str,
    target: &str,
    source_account: &str,
    depends_on: Vec<String>,
    rewriter: &Rewriter<'_>,
    config: &Config,
    env: &str,
    primary_step: Option<&str>,
) -> Step {
    let mut rewritten = Rewritten::default();
    let mut notes: Vec<String> = Vec::new();
    // Cloned once (as text); when only the rewriter may change it, rewritten as text;
    // otherwise, when something in it may change, rewritten in place as a tree, and held as
    // text again at the end.
    // Each of the two searches runs once (they were a quarter of building the copies when
    // they ran up to twice each).
    let changed_member = r.config.as_text().is_some_and(has_changed_member);
    let may_change = copy_may_change(&r.config, rewriter, changed_member);
    let (mut config_copy, changes) = match r.config.as_text() {
        Some(text) if may_change && r.kind != ResourceKind::Pipeline && !changed_member => {
            match rewriter.rewrite_text(text, &mut rewritten) {
                Ok(None) => (r.config.clone(), false),
                Ok(Some(copy)) => match ResourceConfig::from_compact_text(copy) {
                    Ok(copy) => (copy, false),
                    Err(_) => (r.config.clone(), true),
                },
                Err(()) => (r.config.clone(), true),
            }
        }
        _ => (r.config.clone(), may_change),
    };
    let mut v1_webhooks = 0;
    if changes
        && r.kind == ResourceKind::Pipeline
        && let Some(webhooks) = config_copy.as_object_mut().and_then(|c| c.remove("webhooks"))
    {
        // v1 GitHub webhooks belong to the OAuth source; a CodeStar source needs none.
        let n = webhooks.as_array().map_or(0, Vec::len);
        v1_webhooks = n;
        if n > 0 {
            notes.push(format!(
                "{n} v1 webhook(s) are not recreated: a CodeStar Connections source needs none"
            ));
        }
    }
    if changes {
        rewriter.rewrite(&mut config_copy, &mut rewritten);
    }
    let mut action = Action::Create;
    let mut account = target.to_string();
    let copy = step::ResourceCopy {
        source_arn: r.arn.clone(),
        name: r.name.clone(),
        config: config_copy,
        tags: r.tags.clone(),
    };
    let mut dropped_keys: Vec<String> = Vec::new();
    let mut copy = copy;
    if changes {
        notes.extend(keys_of_the_target(r.kind, &mut copy.config, &mut dropped_keys));
    }
    let value_copy = |copy| step::ValueCopy { copy, value: step::VALUE_READ_AT_APPLY.into() };
    let mut spec = match r.kind {
        ResourceKind::SsmParameter => StepSpec::SsmParameter(value_copy(copy)),
        ResourceKind::Secret => match (owning_service(r), replica_of(r)) {
            (None, Some(primary)) if primary_step.is_some() => {
                // Secrets Manager writes a replica from its primary: the primary's copy
                // replicates to this Region, and this step checks the replica and records its
                // ARN for what names it.
                notes.push(format!(
                    "a replica of the secret in {primary}: the copy of its primary ({}) replicates it here",
                    primary_step.unwrap_or_default()
                ));
                StepSpec::Secret(value_copy(copy))
            }
            // Created and rotated by that service under a name users cannot create (`rds!…`):
            // CreateSecret would refuse it. A replica whose primary is not copied here cannot
            // be written directly.
            (Some(_), _) | (None, Some(_)) => {
                action = Action::Manual;
                notes.push(match (owning_service(r), replica_of(r)) {
                    (Some(service), _) => format!(
                        "managed by {service}: its secret is created and rotated by {service}; set up the same in this account through {service}"
                    ),
                    (None, primary) => format!(
                        "a replica of the secret in {}, whose primary is not copied into this account: copy the primary, then replicate it to this Region in the new account",
                        primary.unwrap_or_default()
                    ),
                });
                StepSpec::Manual(step::Manual {
                    source_arn: r.arn.clone(),
                    started_at: None,
                    tags: None,
                })
            }
            (None, None) => {
                let regions = listed(&r.config, "ReplicaRegions");
                if !regions.is_empty() {
                    notes.push(format!("replicated to {} as in the source", regions.join(", ")));
                }
                if r.config.member("RotationEnabled") == Some(Value::Bool(true)) {
                    let function = r.config.member("RotationLambdaARN");
                    let function = function.as_ref().and_then(Value::as_str);
                    notes.push(format!(
                        "rotation (by {}) is not copied: orgsplit does not migrate the rotation function; set rotation up in this account once it exists",
                        function.unwrap_or("a Lambda function")
                    ));
                }
                StepSpec::Secret(value_copy(copy))
            }
        },
        ResourceKind::IamPolicy => StepSpec::IamPolicy(copy),
        ResourceKind::IamRole => StepSpec::IamRole(copy),
        ResourceKind::LogGroup => StepSpec::LogGroup(copy),
        ResourceKind::EcsTaskDefinition => StepSpec::EcsTaskDefinition(copy),
        ResourceKind::EventsRule | ResourceKind::Schedule => {
            let mut copy = copy;
            let network = config.networks.get(env);
            if changes && set_networks(&mut copy.config, network) > 0 && network.is_none() {
                // The source's subnets and security groups do not exist in the target: the
                // scheduled task would fail to start every time.
                action = Action::Manual;
                notes.push(format!("runs ECS tasks in the source account's subnets and security groups, which do not exist in this account: add a [[network]] for environment {env} and re-plan, or create it by hand"));
            }
            if r.kind == ResourceKind::EventsRule {
                StepSpec::EventsRule(copy)
            } else {
                StepSpec::Schedule(copy)
            }
        }
        ResourceKind::S3Bucket => {
            // Bucket names are global: the copy cannot take the source's name while it exists.
            let target_name = bucket_copy_name(config, &r.name, target, env);
            let objects = r.config.member("ObjectCount").and_then(|n| n.as_u64()).unwrap_or(0);
            let at_least = if r.config.member("ObjectCountIsLowerBound") == Some(Value::Bool(true))
            {
                "at least "
            } else {
                ""
            };
            if objects > 0 && !config.copy_objects {
                notes.push(format!("{at_least}{objects} objects are not copied (copy_objects = false): copy them by hand if needed"));
            }
            notes.extend(bucket_not_copied(&r.config));
            notes.push(format!("bucket names are global: the copy is named {target_name}"));
            StepSpec::S3Bucket(step::BucketCopy {
                copy,
                target_name,
                copy_objects: config.copy_objects,
            })
        }
        ResourceKind::EcsCluster => {
            let custom = custom_capacity_providers(&r.config);
            if !custom.is_empty() {
                // An Auto Scaling group provider names a group (and its launch template) of the
                // source account: CreateCluster in the target refuses a provider that does not
                // exist there.
                action = Action::Manual;
                notes.push(format!(
                    "uses capacity provider(s) {}: Auto Scaling group providers are not migrated; create the group and its capacity provider in this account, then the cluster, by hand (FARGATE and FARGATE_SPOT alone would be copied)",
                    custom.join(", ")
                ));
            }
            StepSpec::EcsCluster(copy)
        }
        ResourceKind::EcsService => {
            let network = config.networks.get(env).map(|net| step::Network {
                subnets: net.subnets.clone(),
                security_groups: net.security_groups.clone(),
                assign_public_ip: net.assign_public_ip,
            });
            if network.is_none() {
                action = Action::Manual;
                notes.push(format!("no [[network]] for environment {env}: create the service by hand, or add one and re-plan"));
            }
            StepSpec::EcsService(Box::new(step::ServiceCopy { copy, network }))
        }
        ResourceKind::KmsKey => {
            let aliases = listed(&r.config, "Aliases").join(", ");
            let origin = r.config.member("Origin");
            let origin = origin.as_ref().and_then(Value::as_str).unwrap_or("AWS_KMS");
            if origin != "AWS_KMS" {
                // Key material KMS did not generate (imported, CloudHSM, an external key
                // store) cannot be created again by CreateKey.
                action = Action::Manual;
                notes.push(format!("its key material comes from {origin}: create the key in this account the same way, with aliases {aliases}, by hand"));
            }
            if r.config.member("MultiRegion") == Some(Value::Bool(true)) {
                notes.push("a multi-Region key in the source: the copy is a single-Region key, and data encrypted under the source key cannot be decrypted with it".into());
            }
            if r.config.member("KeyState").as_ref().and_then(Value::as_str) == Some("Disabled") {
                notes.push("disabled in the source: the copy is created enabled, for the copies that use it".into());
            }
            notes.push(format!(
                "a new key with the same aliases ({aliases}): data encrypted under the source key stays readable only with the source key"
            ));
            let policy_later = key_policy_names_copies(r, rewriter);
            if policy_later {
                notes.push("created under the default key policy (this account's IAM policies decide); its own policy is set by the kms-key-policy step once the principals it names exist".into());
            }
            StepSpec::KmsKey(step::KeyCopy { copy, policy_later })
        }
        ResourceKind::CodeBuildProject => {
            if changes
                && let Some(members) = copy.config.as_object_mut()
                && members.remove("hasWebhook").is_some()
            {
                notes.push("its source webhook is not copied: it is tied to the source provider's credentials; create it in this account once the source credentials exist".into());
            }
            let source = r.config.member("source");
            let source_type = source.as_ref().and_then(|s| s.get("type")).and_then(Value::as_str);
            if matches!(
                source_type,
                Some(
                    "GITHUB" | "GITHUB_ENTERPRISE" | "BITBUCKET" | "GITLAB" | "GITLAB_SELF_MANAGED"
                )
            ) {
                notes.push(format!("its {} source needs credentials in this account (a connection or imported source credentials) before a build can start", source_type.unwrap_or_default()));
            }
            if r.config.member("vpcConfig").is_some_and(|v| !v.is_null()) {
                // The source's VPC, subnets and security groups do not exist in the target.
                action = Action::Manual;
                notes.push("runs builds in the source account's VPC, which does not exist in this account: create the project by hand with this account's VPC".into());
            }
            StepSpec::CodeBuildProject(copy)
        }
        ResourceKind::Pipeline => {
            notes.push(
                "recreated with a CodeStar Connections source; its GitHub token is not copied"
                    .into(),
            );
            // Whether the v1 source was triggered by webhooks decides DetectChanges.
            StepSpec::Pipeline(step::PipelineCopy { copy, v1_webhooks })
        }
        ResourceKind::EcrRepository => {
            action = Action::Update;
            account = source_account.to_string();
            notes.push(
                "the repository stays in the source account; its policy lets this account pull"
                    .into(),
            );
            StepSpec::EcrPullAccess(step::EcrPullAccess {
                repository: r.name.clone(),
                source_arn: r.arn.clone(),
                grant_account: target.to_string(),
                actions: [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ]
                .map(String::from)
                .to_vec(),
            })
        }
        ResourceKind::EcsTask => {
            action = Action::Manual;
            account = source_account.to_string();
            let started = r.config.member("startedAt");
            let started = started.as_ref().and_then(Value::as_str).unwrap_or("unknown");
            notes.push(format!("a standalone task running since {started}: never migrated; stop it in the source account when its work is done"));
            StepSpec::Manual(step::Manual {
                source_arn: r.arn.clone(),
                started_at: Some(started.to_string()),
                tags: None,
            })
        }
        ResourceKind::Other => {
            action = Action::Manual;
            let service = r.arn.split(':').nth(2).unwrap_or("?");
            notes.push(format!(
                "orgsplit does not migrate {service} resources: recreate it in this account by hand"
            ));
            StepSpec::Manual(step::Manual {
                source_arn: r.arn.clone(),
                started_at: None,
                tags: Some(r.tags.clone()),
            })
        }
    };
    if let Some(copy) = spec.copy_mut() {
        // A 100,000-step plan holds every copy: as text, not as trees.
        copy.config = std::mem::take(&mut copy.config).into_text();
    }
    // A key the copy no longer names needs no "left pointing at the source" note.
    notes.extend(
        rewritten.notes.into_iter().filter(|n| !dropped_keys.iter().any(|k| n.starts_with(k))),
    );
    if !r.unreadable.is_empty() && action != Action::Manual {
        // A copy made from what could be read would silently lack the rest.
        action = Action::Manual;
        // What a copy would have done (its name, its rewrites) does not apply.
        notes = vec![format!(
            "could not be read ({}): let the access role read it and re-plan, or copy it by hand",
            r.unreadable.join(", ")
        )];
        return Step::new(
            address,
            action,
            &account,
            StepSpec::Manual(step::Manual {
                source_arn: r.arn.clone(),
                started_at: None,
                tags: Some(r.tags.clone()),
            }),
        )
        .in_region_opt(r.region.as_deref())
        .noting_all(notes);
    }
    Step {
        address: address.to_string(),
        action,
        spec,
        account,
        region: r.region.clone(),
        depends_on: if action == Action::Manual { vec![] } else { depends_on },
        // Its source's fingerprint, named by `source_arn` (`Step::read_keys`).
        reads: Vec::new(),
        // Its resource entry's reason, stated there once (format 5).
        reason: String::new(),
        notes,
    }
}

/// Members a copy step changes or drops when present (a pipeline's v1 webhooks, a project's
/// webhook flag, the networks of ECS targets, the KMS key members of `keys_of_the_target`).
const CHANGED_MEMBERS: [&str; 7] = [
    "\"webhooks\"",
    "\"hasWebhook\"",
    "\"awsvpcConfiguration\"",
    "\"KeyId\"",
    "\"KmsKeyId\"",
    "\"encryptionKey\"",
    "\"KMSMasterKeyID\"",
];

/// Whether one of [`CHANGED_MEMBERS`] is in `text`. Every member starts with `"`, the most
/// common byte of a JSON text, so a search for all of them at once (a `Regex`, or
/// Aho-Corasick) stepped through nearly every byte: it was an eighth of building the copies.
/// Three substrings, each found with a vectorised scan, rule most texts out first.
fn has_changed_member(text: &str) -> bool {
    let may = ["Key", "ebhook", "awsvpcConfiguration"].iter().any(|part| text.contains(part));
    may && CHANGED_MEMBERS.iter().any(|member| text.contains(member))
}

/// Whether the copy of `config` may differ from it (or be noted on): when neither the rewriter
/// nor a member this step changes (`changed_member`: [`has_changed_member`] of its text) can
/// touch its text, the copy is the text as it is, and no tree is built. A configuration held
/// as a tree is always rewritten. A copy whose text may change is rewritten as text
/// ([`Rewriter::rewrite_text`]) when no member this step changes on its tree is in it (a
/// pipeline's webhooks are dropped before it is rewritten).
fn copy_may_change(config: &ResourceConfig, rewriter: &Rewriter<'_>, changed_member: bool) -> bool {
    config.as_text().is_none_or(|text| changed_member || rewriter.may_change(text))
}

/// Notes for what a bucket copy leaves out: replication, event notifications and server
/// access logging name resources orgsplit does not copy (other buckets, topics, queues,
/// functions) or need a person's choice (EventBridge delivery).
fn bucket_not_copied(config: &ResourceConfig) -> Vec<String> {
    let mut notes = Vec::new();
    let replication = listed(config, "ReplicationDestinations");
    if !replication.is_empty() {
        notes.push(format!("replication (to {}) is not copied: set it up in this account by hand (its role and destination too)", replication.join(", ")));
    }
    let notifications = listed(config, "NotificationDestinations");
    if !notifications.is_empty() {
        notes.push(format!("event notifications (to {}) are not copied: set them up by hand once their destinations exist here", notifications.join(", ")));
    }
    if let Some(Value::String(target)) = config.member("LoggingTargetBucket") {
        notes.push(format!(
            "server access logging (to bucket {target}) is not copied: set it up by hand"
        ));
    }
    notes
}

/// Sets every `awsvpcConfiguration` in `config` (the ECS targets of a rule or schedule) to
/// `network`, when there is one; returns how many there are.
fn set_networks(config: &mut Value, network: Option<&NetworkMapping>) -> usize {
    match config {
        Value::Object(map) => {
            let mut found = 0;
            for (key, value) in map.iter_mut() {
                if key == "awsvpcConfiguration" && value.is_object() {
                    found += 1;
                    if let Some(net) = network {
                        value["Subnets"] = json!(net.subnets);
                        value["SecurityGroups"] = json!(net.security_groups);
                        value["AssignPublicIp"] =
                            json!(if net.assign_public_ip { "ENABLED" } else { "DISABLED" });
                    }
                } else {
                    found += set_networks(value, network);
                }
            }
            found
        }
        Value::Array(items) => items.iter_mut().map(|v| set_networks(v, network)).sum(),
        _ => 0,
    }
}

/// The objects of a copied configuration that may hold its KMS key member: the
/// configuration itself, or a bucket's default-encryption rules.
fn key_holders(kind: ResourceKind, config: &mut Value) -> Vec<&mut Value> {
    if kind != ResourceKind::S3Bucket {
        return vec![config];
    }
    let rules = config.pointer_mut("/Encryption/Rules").and_then(Value::as_array_mut);
    rules
        .into_iter()
        .flatten()
        .filter_map(|r| r.pointer_mut("/ApplyServerSideEncryptionByDefault"))
        .collect()
}

/// A customer-managed key copied into this account is named by its step's placeholder (the
/// rewriter wrote `${kms-key-arn:…}`), and the copy uses it. Any other key still names the
/// source account (a key not copied here, or not in the inventory): the target cannot use it
/// (S3 does not even check on PutBucketEncryption: later writes fail), so the member is
/// dropped, the copy uses this account's AWS-managed key of the service, and a note says which
/// key the source used (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html>).
/// AWS-managed keys were dropped by the inventory already: each account has its own.
fn keys_of_the_target(
    kind: ResourceKind,
    config: &mut Value,
    dropped: &mut Vec<String>,
) -> Vec<String> {
    let member = match kind {
        ResourceKind::SsmParameter => "KeyId",
        ResourceKind::Secret | ResourceKind::LogGroup => "KmsKeyId",
        ResourceKind::CodeBuildProject => "encryptionKey",
        ResourceKind::S3Bucket => "KMSMasterKeyID",
        _ => return Vec::new(),
    };
    // What each service uses without a key id: the account's own AWS-managed key of the
    // service (CloudWatch Logs encrypts a group without a key on its own).
    let default = match kind {
        ResourceKind::SsmParameter => "this account's AWS-managed alias/aws/ssm key",
        ResourceKind::Secret => "this account's AWS-managed aws/secretsmanager key",
        ResourceKind::S3Bucket | ResourceKind::CodeBuildProject => {
            "this account's AWS-managed aws/s3 key"
        }
        _ => "CloudWatch Logs' own encryption",
    };
    let mut notes = Vec::new();
    for holder in key_holders(kind, config) {
        let Some(members) = holder.as_object_mut() else { continue };
        let Some(key) = members.get(member).and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        if key.starts_with(step::KMS_KEY_ARN_PLACEHOLDER) {
            continue;
        }
        members.remove(member);
        // No key, or an AWS-managed one (`alias/aws/ssm`, by name or ARN): the target's own
        // serves (the inventory drops these; a hand-written inventory may not).
        let alias = key.rsplit(':').next().unwrap_or(&key);
        if key.is_empty() || alias.starts_with("alias/aws/") {
            continue;
        }
        dropped.push(key.clone());
        notes.push(format!(
            "encrypted in the source with KMS key {key}, which is not copied into this account: the copy uses {default}"
        ));
    }
    notes
}

/// The step that sets a copied key's policy, after the key and the principals it names.
/// `label` is the key's label (`kms:NAME`, `kms@REGION:NAME`) and `prefix` its account's
/// address prefix: the step is `PREFIX/kms-policy:NAME`.
pub(crate) fn key_policy_step(
    prefix: &str,
    label: &str,
    key_step: &Step,
    key: &step::KeyCopy,
    principals: Vec<String>,
) -> Step {
    let name = key.copy.name.as_str();
    let address = format!("{prefix}/kms-policy{}", label.strip_prefix("kms").unwrap_or(label));
    let spec = StepSpec::KmsKeyPolicy(step::KeyPolicy {
        key_arn: step::kms_key_arn_placeholder(&key_step.address),
        name: name.to_string(),
        policy: key.copy.config.member("Policy").unwrap_or(Value::Null),
    });
    let mut after = vec![key_step.address.clone()];
    after.extend(principals);
    after.sort();
    after.dedup();
    let mut step = Step::new(address, Action::Create, &key_step.account, spec)
        .in_region_opt(key_step.region.as_deref())
        .after(after)
        .because(format!("the policy of key {name} names principals this plan creates"));
    // The key's source: the policy is stale when the key is.
    step.reads = key_step.read_keys().map(str::to_string).collect();
    step
}

/// Whether a key's policy names, as principals, resources this plan copies into the account:
/// KMS refuses a key policy naming a principal that does not exist yet
/// (<https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html>).
pub(crate) fn key_policy_names_copies(r: &Resource, rewriter: &Rewriter<'_>) -> bool {
    r.references.iter().any(|rf| rf.via.contains(".Principal.AWS") && (rewriter.is_copied)(&rf.arn))
}

/// The Region of a replica secret's primary, when this secret is a replica.
pub(crate) fn replica_of(r: &Resource) -> Option<String> {
    let primary = r.config.member("PrimaryRegion")?;
    let primary = primary.as_str()?;
    (r.region.as_deref() != Some(primary)).then(|| primary.to_string())
}

/// The service that owns a secret, if another service created it: `OwningService` as
/// ListSecrets reports it, else the `SERVICE!` prefix such secrets' names carry (a name a
/// user creates may hold only letters, digits and `/_+=.@-`,
/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html>).
pub(crate) fn owning_service(r: &Resource) -> Option<String> {
    if let Some(Value::String(service)) = r.config.member("OwningService") {
        return Some(service);
    }
    r.name.split_once('!').map(|(service, _)| service.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three substrings that rule a text out first are in every changed member.
    #[test]
    fn every_changed_member_is_found_and_other_texts_are_not() {
        for member in CHANGED_MEMBERS {
            let text = format!(r#"{{"Name":"x",{member}:"v"}}"#);
            assert!(has_changed_member(&text), "{member}");
        }
        let plain =
            r#"{"Type":"SecureString","Tier":"Standard","Description":"Key rotation, webhook"}"#;
        assert!(!has_changed_member(plain));
    }
}
