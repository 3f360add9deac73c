//! `[bucket_names]`: names for bucket copies, checked against S3's naming rules here, so a
//! bad name is an error on its own line of the config, not a failed CreateBucket mid-apply.

use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

use super::raw::RawBucketName;
use super::validate::Cx;
use super::{BucketNameOverride, ConfigError};
use crate::bucket_name::bucket_name_problem;
use crate::quote::quote;

pub(super) fn bucket_names(
    cx: &Cx<'_>,
    raw: &BTreeMap<String, Spanned<RawBucketName>>,
    environments: &BTreeSet<String>,
) -> Result<BTreeMap<String, BucketNameOverride>, ConfigError> {
    let mut out = BTreeMap::new();
    // Copy name -> the key that gave it: two copies cannot share a global name.
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for (source, value) in raw {
        let span = value.span();
        let key = format!("bucket_names.{}", quote(source));
        let mut check = |name: &str, key: String| -> Result<(), ConfigError> {
            if let Some(why) = bucket_name_problem(name) {
                return Err(cx.err(span.clone(), key, format!("{}: {why}", quote(name))));
            }
            if let Some(other) = taken.insert(name.to_string(), key.clone()) {
                return Err(cx.err(
                    span.clone(),
                    key,
                    format!(
                        "{} is also the name {other} gives: bucket names are global",
                        quote(name)
                    ),
                ));
            }
            Ok(())
        };
        let parsed = match value.get_ref() {
            RawBucketName::One(name) => {
                check(name, key.clone())?;
                BucketNameOverride::One(name.clone())
            }
            RawBucketName::PerEnvironment(names) => {
                for (env, name) in names {
                    if !environments.contains(env) {
                        return Err(cx.err(
                            span.clone(),
                            format!("{key}.{env}"),
                            format!("{} is not an OU's environment", quote(env)),
                        ));
                    }
                    check(name, format!("{key}.{env}"))?;
                }
                BucketNameOverride::PerEnvironment(names.clone())
            }
        };
        out.insert(source.clone(), parsed);
    }
    Ok(out)
}
