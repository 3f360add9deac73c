//! The organization's one GitHub connection: created once in its owner's account (the
//! `[connection]` config), shared through AWS RAM with each account that gets pipelines,
//! so one console handshake serves the whole split.
//!
//! A connection is global ("You only have to create a connection once, and then you can use
//! it in any AWS Region", Developer Tools console guide, "Global resources in AWS
//! CodeConnections"), so one connection, in the home Region, serves pipelines of every Region;
//! its resource share lives in the same Region.

use orgsplit_model::config::{Config, ConnectionOwner, RAM_PRINCIPAL};
use orgsplit_model::inventory::OrganizationState;
use orgsplit_model::step::{self, StepSpec};
use orgsplit_model::{Action, Step};

use crate::build::{BuildError, ORGANIZATION_KEY};

/// Where the connection lives and the addresses of its organization steps.
pub(crate) struct OrgConnection {
    pub(crate) name: String,
    /// The owner's account id.
    pub(crate) owner: String,
    pub(crate) address: String,
    pub(crate) sharing_address: String,
    /// Whether an account's pipelines use it (its steps are planned only then).
    pub(crate) used: bool,
}

impl OrgConnection {
    pub(crate) fn new(config: &Config, org: &OrganizationState) -> Result<Self, BuildError> {
        let management = org.management_account_id.as_str();
        let owner = config.connection.owner_id(management, &config.source_account_id).to_string();
        if let ConnectionOwner::Account(id) = &config.connection.owner
            && id != management
            && !org.accounts.iter().any(|a| &a.id == id)
        {
            return Err(BuildError::ConnectionOwner { owner: id.clone() });
        }
        let name = config.connection.name.clone();
        Ok(OrgConnection {
            address: format!("organization/connection:{name}"),
            sharing_address: "organization/org-trusted-access:ram".into(),
            name,
            owner,
            used: false,
        })
    }

    /// The step that shares the connection with `account` (an id or `${account:NAME}`),
    /// once the account is in its OU; pipelines of the account wait for it.
    pub(crate) fn share_step(
        &mut self,
        prefix: &str,
        account: &str,
        after: &str,
        home: &str,
    ) -> Step {
        self.used = true;
        let spec = StepSpec::ConnectionShare(step::ConnectionShare {
            share_name: self.name.clone(),
            connection: self.address.clone(),
            account: account.to_string(),
        });
        Step::new(
            format!("{prefix}/connection-share:{}", self.name),
            Action::Create,
            &self.owner,
            spec,
        )
        .in_region(home)
        .after([self.address.as_str(), self.sharing_address.as_str(), after])
        .because(format!(
            "the account's pipelines use the organization's connection {} (AWS RAM share)",
            self.name
        ))
    }

    /// The organization's steps, when an account uses the connection: sharing with the
    /// organization enabled in AWS RAM, and the connection.
    pub(crate) fn organization_steps(&self, config: &Config, org: &OrganizationState) -> Vec<Step> {
        if !self.used {
            return Vec::new();
        }
        let enabled = org.service_access.iter().any(|s| s == RAM_PRINCIPAL);
        let spec = StepSpec::OrgTrustedAccess(step::TrustedAccess {
            service_principal: Some(RAM_PRINCIPAL.into()),
        });
        let sharing = Step::new(
            &self.sharing_address,
            Action::create_unless(enabled),
            &org.management_account_id,
            spec,
        )
        .in_region(&config.home_region)
        .reading(ORGANIZATION_KEY)
        .because("the organization's connection is shared with its accounts through AWS RAM, without invitations");
        let spec = StepSpec::Connection(step::Connection {
            name: self.name.clone(),
            provider_type: "GitHub".into(),
        });
        let connection = Step::new(&self.address, Action::Create, &self.owner, spec)
            .in_region(&config.home_region)
            .because("pipelines move to the organization's GitHub connection (no token to revoke)")
            .noting("waits for a person once: the GitHub handshake is completed in the console");
        vec![sharing, connection]
    }
}
