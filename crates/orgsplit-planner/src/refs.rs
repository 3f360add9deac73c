//! Resolving the ARNs a resource references to the inventoried resources they name.

use foldhash::{HashMap, HashMapExt};
use orgsplit_model::{Resource, ResourceKind};

/// An index of an inventory's resources by the ways other resources refer to them. It
/// borrows the inventory's strings: a 100,000-resource inventory is indexed without a copy.
pub struct RefIndex<'a> {
    by_arn: HashMap<&'a str, usize>,
    by_taskdef_family: HashMap<(&'a str, &'a str), usize>,
    /// Secrets by full ARN and by partial ARN (without the 7-character `-XXXXXX` suffix).
    secrets: HashMap<&'a str, usize>,
}

impl<'a> RefIndex<'a> {
    pub fn new(resources: &'a [Resource]) -> Self {
        let mut by_arn = HashMap::with_capacity(resources.len());
        let mut by_taskdef_family = HashMap::new();
        let mut secrets = HashMap::new();
        for (i, r) in resources.iter().enumerate() {
            by_arn.insert(r.arn.as_str(), i);
            match r.kind {
                ResourceKind::EcsTaskDefinition => {
                    if let Some(region) = &r.region {
                        by_taskdef_family.insert((region.as_str(), r.name.as_str()), i);
                    }
                }
                ResourceKind::Secret => {
                    secrets.insert(r.arn.as_str(), i);
                    if let Some(partial) = r.arn.get(..r.arn.len().saturating_sub(7)) {
                        secrets.entry(partial).or_insert(i);
                    }
                }
                _ => {}
            }
        }
        RefIndex { by_arn, by_taskdef_family, secrets }
    }

    pub fn resolve(&self, arn: &str) -> Option<usize> {
        if let Some(&i) = self.by_arn.get(arn) {
            return Some(i);
        }
        if let Some(stripped) = arn.strip_suffix(":*")
            && let Some(&i) = self.by_arn.get(stripped)
        {
            return Some(i);
        }
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() < 6 {
            return None;
        }
        let (service, region, resource) = (parts[2], parts[3], parts[5]);
        match service {
            "ecs" => {
                let rest = resource.strip_prefix("task-definition/")?;
                let family = rest.rsplit_once(':').map_or(rest, |(f, _)| f);
                self.by_taskdef_family.get(&(region, family)).copied()
            }
            "secretsmanager" => {
                // `…:secret:NAME-XXXXXX` or `…:secret:NAME`, maybe followed by
                // `:json-key:version-stage:version-id`: a secret's name holds no `:`, so the
                // secret is named by the ARN up to its seventh field.
                let secret = resource.strip_prefix("secret:")?;
                let name_end =
                    secret.find(':').map_or(arn.len(), |at| arn.len() - secret.len() + at);
                self.secrets.get(&arn[..name_end]).copied()
            }
            _ => None,
        }
    }
}

/// The account id an ARN or an image URI names, if any.
pub fn account_of(reference: &str) -> Option<&str> {
    if let Some(rest) = reference.strip_prefix("arn:") {
        let account = rest.split(':').nth(3)?;
        return (account.len() == 12).then_some(account);
    }
    let account = reference.split('.').next()?;
    orgsplit_model::is_account_id(account).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(kind: ResourceKind, name: &str, arn: &str) -> Resource {
        Resource::new(
            kind,
            name,
            arn,
            Some("us-east-1".into()),
            Default::default(),
            json!({}),
            vec![],
        )
    }

    #[test]
    fn resolves_the_forms_aws_uses() {
        let resources = vec![
            res(
                ResourceKind::Secret,
                "prod/mailer/api-key",
                "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/mailer/api-key-AbCdEf",
            ),
            res(
                ResourceKind::EcsTaskDefinition,
                "prod-mail-sender",
                "arn:aws:ecs:us-east-1:111111111111:task-definition/prod-mail-sender:3",
            ),
            res(
                ResourceKind::LogGroup,
                "/ecs/prod",
                "arn:aws:logs:us-east-1:111111111111:log-group:/ecs/prod",
            ),
        ];
        let idx = RefIndex::new(&resources);
        assert_eq!(
            idx.resolve(
                "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/mailer/api-key-AbCdEf"
            ),
            Some(0)
        );
        assert_eq!(
            idx.resolve("arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/mailer/api-key"),
            Some(0)
        );
        assert_eq!(idx.resolve("arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/mailer/api-key-AbCdEf:password::"), Some(0));
        assert_eq!(
            idx.resolve(
                "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/mailer/api-key-other"
            ),
            None
        );
        assert_eq!(
            idx.resolve("arn:aws:ecs:us-east-1:111111111111:task-definition/prod-mail-sender:1"),
            Some(1)
        );
        assert_eq!(
            idx.resolve("arn:aws:ecs:us-east-1:111111111111:task-definition/prod-mail-sender"),
            Some(1)
        );
        assert_eq!(
            idx.resolve("arn:aws:ecs:eu-west-1:111111111111:task-definition/prod-mail-sender:1"),
            None
        );
        assert_eq!(
            idx.resolve("arn:aws:logs:us-east-1:111111111111:log-group:/ecs/prod:*"),
            Some(2)
        );
    }

    #[test]
    fn finds_the_account_of_arns_and_image_uris() {
        assert_eq!(account_of("arn:aws:iam::111111111111:role/x"), Some("111111111111"));
        assert_eq!(account_of("arn:aws:s3:::bucket"), None);
        assert_eq!(
            account_of("111111111111.dkr.ecr.us-east-1.amazonaws.com/mail-sender:1"),
            Some("111111111111")
        );
        assert_eq!(account_of("nginx:latest"), None);
    }
}
