//! Opt-in Regions: disabled in every new account until enabled (Account Management
//! `EnableRegion`), which "takes a few minutes for most accounts, but it can take several
//! hours" (<https://docs.aws.amazon.com/accounts/latest/reference/API_EnableRegion.html>).
//! The list is AWS's Regions whose opt-in status is "Required"
//! (<https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html>); the
//! emulator keeps the same list (`tests/emulator/orgsplit_emulator/regions.py`).

pub const OPT_IN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

/// The service principal of Account Management, whose trusted access lets the management
/// account enable Regions in member accounts.
pub const ACCOUNT_MANAGEMENT_PRINCIPAL: &str = "account.amazonaws.com";

pub fn is_opt_in(region: &str) -> bool {
    OPT_IN_REGIONS.contains(&region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_in_regions_are_told_from_default_ones() {
        assert!(is_opt_in("af-south-1"));
        assert!(is_opt_in("eu-south-2"));
        assert!(!is_opt_in("us-east-1"));
        assert!(!is_opt_in("eu-west-1"));
    }
}
