//! The checks: pure functions from gathered facts to findings, one module per concern.
//! No IO and no clock of their own (`now` is an input), so each is tested on facts alone.

mod environments;
mod pipelines;
mod spend;
mod tags;
mod trust;

use orgsplit_model::Config;
use time::OffsetDateTime;

use crate::facts::{AccountFacts, OrgFacts};
use crate::finding::Finding;

/// What every check may read besides the account itself.
pub struct CheckContext<'a> {
    pub config: &'a Config,
    pub org: &'a OrgFacts,
    pub now: OffsetDateTime,
}

/// A policy element IAM allows as one item or a list (`Action`, `Statement`, a condition's
/// values), as a list.
pub(crate) fn items(v: Option<&serde_json::Value>) -> Vec<&serde_json::Value> {
    match v {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(serde_json::Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// Every finding of one account.
pub fn run(cx: &CheckContext<'_>, account: &AccountFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(environments::mixed_environments(cx, account));
    out.extend(environments::management_workloads(cx, account));
    out.extend(spend::long_running_tasks(cx, account));
    out.extend(spend::no_budget(account));
    out.extend(pipelines::v1_github_sources_of(account));
    out.extend(trust::role_trust(cx, account));
    out.extend(trust::access_role_admin(cx, account));
    out.extend(tags::unprotected_tag_keys(cx, account));
    out
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Facts for the checks' unit tests.
    use orgsplit_model::inventory::{AccountState, OrganizationState, OuState};
    use orgsplit_model::{Config, Resource, ResourceKind};
    use serde_json::Value;
    use std::collections::BTreeMap;

    use crate::facts::{AccountFacts, OrgFacts};
    use crate::finding::AccountRole;

    pub const MGMT: &str = "123456789012";
    pub const SOURCE: &str = "111111111111";
    pub const MEMBER: &str = "222222222222";

    pub fn config() -> Config {
        let text = include_str!("../../../../plans/examples/orgsplit.toml");
        Config::parse(std::path::Path::new("orgsplit.toml"), text).expect("example config")
    }

    pub fn org() -> OrgFacts {
        let account = |id: &str, name: &str, parent: &str| AccountState {
            id: id.into(),
            name: name.into(),
            email: format!("{name}@example.com"),
            status: "ACTIVE".into(),
            parent_id: parent.into(),
        };
        OrgFacts {
            state: OrganizationState {
                id: "o-abc123".into(),
                management_account_id: MGMT.into(),
                root_id: "r-root".into(),
                ous: vec![OuState {
                    id: "ou-dev".into(),
                    name: "dev".into(),
                    parent_id: "r-root".into(),
                }],
                accounts: vec![
                    account(MGMT, "management", "r-root"),
                    account(SOURCE, "shared", "r-root"),
                    account(MEMBER, "dev-workloads", "ou-dev"),
                ],
                service_access: vec![],
                stacksets_access: String::new(),
                policies: vec![],
            },
            scp_enabled: true,
            scps: vec![],
        }
    }

    pub fn account(id: &str, role: AccountRole, resources: Vec<Resource>) -> AccountFacts {
        let parents = org().parents_of(id);
        AccountFacts {
            account_id: id.into(),
            name: "x".into(),
            role,
            parents,
            resources,
            budgets: vec!["orgsplit-monthly".into()],
        }
    }

    pub fn resource(
        kind: ResourceKind,
        name: &str,
        tags: &[(&str, &str)],
        config: Value,
    ) -> Resource {
        let region = (kind != ResourceKind::IamRole && kind != ResourceKind::IamPolicy)
            .then(|| "us-east-1".to_string());
        let arn = format!("arn:aws:test:us-east-1:{SOURCE}:{kind}/{name}");
        Resource::new(
            kind,
            name,
            arn,
            region,
            tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
            config,
            vec![],
        )
    }
}
