//! S3's rules for general purpose bucket names, checked before a name reaches CreateBucket
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>).

/// The longest bucket name S3 accepts.
pub const MAX_BUCKET_NAME: usize = 63;

const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// Why S3 would refuse `name` as a bucket name, or `None` when it is valid.
pub fn bucket_name_problem(name: &str) -> Option<String> {
    if !(3..=MAX_BUCKET_NAME).contains(&name.len()) {
        return Some(format!("{} characters; S3 allows 3 to {MAX_BUCKET_NAME}", name.len()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return Some(format!("{c:?} is not allowed: lowercase letters, digits, '.' and '-' only"));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Some("must begin and end with a letter or digit".into());
    }
    if name.contains("..") {
        return Some("two adjacent periods".into());
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Some("formatted as an IP address".into());
    }
    if let Some(p) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(*p)) {
        return Some(format!("the prefix {p} is reserved"));
    }
    if let Some(s) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
        return Some(format!("the suffix {s} is reserved"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_s3_accepts_and_names_it_refuses() {
        for ok in ["abc", "acme-terraform-state", "a.b-c", &"a".repeat(63), "my.bucket.1"] {
            assert_eq!(bucket_name_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("ab", "2 characters"),
            (&"a".repeat(64) as &str, "64 characters"),
            ("Acme", "'A' is not allowed"),
            ("acme_state", "'_' is not allowed"),
            ("-acme", "begin and end"),
            ("acme.", "begin and end"),
            ("a..b", "adjacent"),
            ("192.168.5.4", "IP address"),
            ("xn--acme", "prefix xn--"),
            ("sthree-acme", "prefix sthree-"),
            ("acme-s3alias", "suffix -s3alias"),
            ("acme--x-s3", "suffix --x-s3"),
            ("acme.mrap", "suffix .mrap"),
        ] {
            let got = bucket_name_problem(bad).unwrap_or_default();
            assert!(got.contains(why), "{bad}: {got}");
        }
    }
}
