//! Opt-in Regions in an account, enabled from the management account through Account
//! Management (`GetRegionOptStatus`, `EnableRegion` with `AccountId`; trusted access for
//! `account.amazonaws.com` is the organization step before it).
//!
//! Enabling "takes a few minutes for most accounts, but it can take several hours. You cannot
//! use the Region until this process is complete"
//! (<https://docs.aws.amazon.com/accounts/latest/reference/API_EnableRegion.html>). So the step
//! waits a bounded time, then ends as *waiting* (like a connection handshake): the account's
//! steps in that Region wait, everything else goes on, and the same apply finishes later.

use aws_sdk_account::types::RegionOptStatus;
use std::time::{Duration, Instant};

use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::step::RegionOptIn;

pub async fn opt_in(cx: &StepContext, inputs: &RegionOptIn) -> Result<Outcome, StepError> {
    let session = cx.session().await?;
    let account = inputs.account.clone();
    let region = inputs.region.clone();
    let client = session.account();
    let home = session.home_region();
    let status = || async {
        client
            .get_region_opt_status()
            .account_id(&account)
            .region_name(&region)
            .send()
            .await
            .map(|o| o.region_opt_status().cloned())
            .map_err(session.error_of("account", "GetRegionOptStatus", &home))
    };
    let mut changed = false;
    match status().await? {
        Some(RegionOptStatus::Enabled | RegionOptStatus::EnabledByDefault) => {
            return Ok(Outcome::unchanged());
        }
        Some(RegionOptStatus::Disabled) => {
            client
                .enable_region()
                .account_id(&account)
                .region_name(&region)
                .send()
                .await
                .map_err(session.error_of("account", "EnableRegion", &home))?;
            changed = true;
        }
        Some(RegionOptStatus::Enabling) => {}
        other => {
            return Err(StepError::Failed(format!(
                "Region {region} in account {account} is {}: run apply again once it is DISABLED or ENABLED",
                other.map_or("of unknown status".into(), |s| s.as_str().to_string())
            )));
        }
    }
    // How long this apply waits for an ENABLING Region before it moves on (10 minutes).
    let wait = cx.aws.options().region_enable_timeout;
    let started = Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        match status().await? {
            Some(RegionOptStatus::Enabled) => return Ok(Outcome::changed(changed)),
            Some(RegionOptStatus::Enabling) if started.elapsed() < wait => {
                cx.waiting(format!("waiting for {region} to be enabled in {account}"));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(15));
            }
            Some(RegionOptStatus::Enabling) => {
                return Ok(Outcome::Waiting {
                    message: format!(
                        "Region {region} is still ENABLING in account {account} after {} (AWS: minutes, sometimes hours); run apply again later",
                        waited(wait)
                    ),
                    url: None,
                });
            }
            other => {
                return Err(StepError::Verify(format!(
                    "Region {region} in account {account} is {} after EnableRegion",
                    other.map_or("of unknown status".into(), |s| s.as_str().to_string())
                )));
            }
        }
    }
}

fn waited(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 60 => format!("{} minutes", s / 60),
        s => format!("{s} s"),
    }
}
