//! What the checks read: each account's resources and budgets, and the organization's
//! shape with its service control policies. Gathered by `gather`, judged by `checks`.

use orgsplit_model::Resource;
use orgsplit_model::inventory::OrganizationState;
use serde_json::Value;

use crate::finding::AccountRole;

/// One account as the checks see it.
#[derive(Debug, Clone)]
pub struct AccountFacts {
    pub account_id: String,
    pub name: String,
    pub role: AccountRole,
    /// Ids of the account's parents, nearest first, ending with the root.
    pub parents: Vec<String>,
    /// Every resource the inventory collectors read, the access role included.
    pub resources: Vec<Resource>,
    /// Names of the account's AWS Budgets budgets.
    pub budgets: Vec<String>,
}

/// A service control policy with its document.
#[derive(Debug, Clone)]
pub struct Scp {
    pub id: String,
    pub name: String,
    pub document: Value,
    /// Roots, OUs and accounts it is attached to.
    pub targets: Vec<String>,
}

/// The organization as the checks see it.
#[derive(Debug, Clone)]
pub struct OrgFacts {
    pub state: OrganizationState,
    /// Whether SCPs are enabled on the root: when not, no SCP applies anywhere.
    pub scp_enabled: bool,
    pub scps: Vec<Scp>,
}

impl OrgFacts {
    /// Whether an account id belongs to the organization.
    pub fn has_account(&self, id: &str) -> bool {
        id == self.state.management_account_id || self.state.accounts.iter().any(|a| a.id == id)
    }

    /// The parents of an account, nearest first, ending with the root.
    pub fn parents_of(&self, account_id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let Some(mut parent) =
            self.state.accounts.iter().find(|a| a.id == account_id).map(|a| a.parent_id.clone())
        else {
            return out;
        };
        // An OU's parent chain ends at the root; the bound guards against a cycle in bad data.
        for _ in 0..=self.state.ous.len() {
            out.push(parent.clone());
            match self.state.ous.iter().find(|o| o.id == parent) {
                Some(ou) => parent = ou.parent_id.clone(),
                None => break,
            }
        }
        out
    }

    /// The OU an account sits in directly, by name; `None` at the root.
    pub fn ou_name_of(&self, account_id: &str) -> Option<String> {
        let parent = self.parents_of(account_id).into_iter().next()?;
        self.state.ous.iter().find(|o| o.id == parent).map(|o| o.name.clone())
    }
}
