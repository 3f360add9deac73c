//! What apply reads of the organization outside any step (the executor finds accounts
//! another OU's apply created) and inside the organization steps.

use orgsplit_aws::{AccountSession, AwsError};
use std::collections::BTreeMap;

use crate::steps::support::aws_err;

const ORG: &str = "organizations";
const GLOBAL: &str = "global";

/// Every account of the organization by lower-cased e-mail -> id.
pub async fn accounts_by_email(
    session: &AccountSession,
) -> Result<BTreeMap<String, String>, AwsError> {
    let org = session.organizations();
    let mut out = BTreeMap::new();
    let mut token = None;
    loop {
        let page = org
            .list_accounts()
            .set_next_token(token)
            .send()
            .await
            .map_err(aws_err(session, ORG, "ListAccounts", GLOBAL))?;
        for a in page.accounts() {
            if let (Some(email), Some(id)) = (a.email(), a.id()) {
                out.insert(email.to_ascii_lowercase(), id.to_string());
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}
