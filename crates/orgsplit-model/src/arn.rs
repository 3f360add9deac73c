//! The partition of an ARN: one home for reading it, so no ARN orgsplit builds assumes `aws`.
//!
//! AWS has several partitions (`aws`, `aws-cn`, `aws-us-gov`, the isolated ones), and an ARN
//! names its own: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` ("Amazon Resource Names",
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html). An organization
//! lives in one partition, so orgsplit takes it from the caller's identity
//! (`sts:GetCallerIdentity` returns `arn:aws-cn:sts::…` in China) and from the source ARNs
//! it copies, never from a constant.

/// The commercial partition: used only when no ARN is at hand to say otherwise (an
/// inventory written before the partition was recorded).
pub const DEFAULT_PARTITION: &str = "aws";

/// The partition of `arn` (`arn:aws-us-gov:iam::…` is `aws-us-gov`), if it is an ARN.
pub fn partition_of(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.next().filter(|p| is_partition(p))
}

/// The partition of a Region, by its name's prefix, as the SDKs' `partitions.json` maps them
/// (`regionRegex`: `^cn\-\w+\-\d+$` is `aws-cn`, `^us\-gov\-\w+\-\d+$` is `aws-us-gov`,
/// `^us\-isob\-…` is `aws-iso-b`, `^us\-iso\-…` is `aws-iso`); every other Region is `aws`. For
/// what names a Region but no partition: an ECR image URI
/// (`ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPO`).
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        DEFAULT_PARTITION
    }
}

/// Whether `s` looks like a partition name: `aws` or `aws-…` in lower case.
fn is_partition(s: &str) -> bool {
    (s == "aws" || s.starts_with("aws-")) && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_is_read_from_the_arn() {
        assert_eq!(partition_of("arn:aws:iam::111111111111:root"), Some("aws"));
        assert_eq!(partition_of("arn:aws-cn:sts::111111111111:assumed-role/x/y"), Some("aws-cn"));
        assert_eq!(partition_of("arn:aws-us-gov:s3:::bucket"), Some("aws-us-gov"));
    }

    #[test]
    fn partition_of_a_region_follows_its_prefix() {
        assert_eq!(partition_of_region("eu-west-1"), "aws");
        assert_eq!(partition_of_region("cn-northwest-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of_region("us-iso-east-1"), "aws-iso");
        assert_eq!(partition_of_region("us-isob-east-1"), "aws-iso-b");
    }

    #[test]
    fn anything_else_has_no_partition() {
        assert_eq!(partition_of("s3://bucket"), None);
        assert_eq!(partition_of("arn::iam::1:root"), None);
        assert_eq!(partition_of("arn:AWS:iam::1:root"), None);
        assert_eq!(partition_of(""), None);
    }
}
