//! Placeholders in a step's inputs, replaced just before it runs: `${account:NAME}`, an
//! account the plan creates, by its id once it exists; `${secret-arn:ADDRESS}`, a copied
//! secret's full ARN, and `${kms-key-arn:ADDRESS}`, a copied KMS key's ARN, by what the step
//! at ADDRESS recorded.

use orgsplit_model::Step;
use orgsplit_model::journal::{OutputKey, Outputs};
use orgsplit_model::step::{KMS_KEY_ARN_PLACEHOLDER, SECRET_ARN_PLACEHOLDER};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The account names a step still refers to by placeholder.
pub fn names_in(step: &Step) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    collect(&step.account, &mut names);
    walk(&spec_value(step), &mut |s| collect(s, &mut names));
    names
}

fn spec_value(step: &Step) -> Value {
    serde_json::to_value(&step.spec).expect("inputs serialise")
}

fn collect(s: &str, names: &mut BTreeSet<String>) {
    let mut rest = s;
    while let Some(start) = rest.find("${account:") {
        let after = &rest[start + "${account:".len()..];
        match after.find('}') {
            Some(end) => {
                names.insert(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
}

fn walk(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            f(k);
            walk(x, f)
        }),
        _ => {}
    }
}

fn replace(s: &str, ids: &BTreeMap<String, String>) -> String {
    let mut out = s.to_string();
    for (name, id) in ids {
        out = out.replace(&format!("${{account:{name}}}"), id);
    }
    out
}

fn replace_value(v: &Value, f: &impl Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(f(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| replace_value(x, f)).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (f(k), replace_value(x, f))).collect())
        }
        other => other.clone(),
    }
}

/// The step with `f` applied to its account and to every string of its inputs. The typed
/// inputs go through their JSON form: every string field is covered, and the replaced text
/// is still the same shape.
fn map_strings(step: &Step, f: impl Fn(&str) -> String) -> Step {
    let mut out = step.clone();
    out.account = f(&step.account);
    out.spec = serde_json::from_value(replace_value(&spec_value(step), &f))
        .expect("replacing placeholders keeps the inputs' shape");
    out
}

/// The step with every placeholder replaced; the names without an id are the error.
pub fn substitute(step: &Step, ids: &BTreeMap<String, String>) -> Result<Step, Vec<String>> {
    let missing: Vec<String> =
        names_in(step).into_iter().filter(|n| !ids.contains_key(n)).collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(map_strings(step, |s| replace(s, ids)))
}

/// The step with its account ids and the ARNs other steps recorded filled in, or why it
/// cannot be (cutover and cleanup act on copies an apply made).
pub fn resolve(
    step: &Step,
    ids: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, Outputs>,
) -> Result<Step, String> {
    substitute(step, ids)
        .map_err(|m| format!("account {} is not known: apply the OU", m.join(", ")))
        .and_then(|s| {
            substitute_outputs(&s, outputs)
                .map_err(|m| format!("step {} recorded no ARN", m.join(", ")))
        })
}

/// The placeholders for another step's output, with the output each one takes.
const OUTPUT_PLACEHOLDERS: [(&str, OutputKey); 2] = [
    (SECRET_ARN_PLACEHOLDER, OutputKey::SecretArn),
    (KMS_KEY_ARN_PLACEHOLDER, OutputKey::KmsKeyArn),
];

/// The addresses of the steps whose output the step names by a placeholder opening with
/// `opening`.
fn addresses_in(step: &Step, opening: &str) -> BTreeSet<String> {
    let mut addresses = BTreeSet::new();
    walk(&spec_value(step), &mut |s| {
        let mut rest = s;
        while let Some(start) = rest.find(opening) {
            let after = &rest[start + opening.len()..];
            let Some(end) = after.find('}') else { break };
            addresses.insert(after[..end].to_string());
            rest = &after[end + 1..];
        }
    });
    addresses
}

/// The addresses of the `secret` steps whose copy's ARN the step names by placeholder.
pub fn secrets_in(step: &Step) -> BTreeSet<String> {
    addresses_in(step, SECRET_ARN_PLACEHOLDER)
}

/// The addresses of the `kms-key` steps whose key's ARN the step names by placeholder.
pub fn keys_in(step: &Step) -> BTreeSet<String> {
    addresses_in(step, KMS_KEY_ARN_PLACEHOLDER)
}

/// The step with every `${secret-arn:ADDRESS}` and `${kms-key-arn:ADDRESS}` replaced by the
/// ARN the step at ADDRESS recorded; the addresses with no recorded ARN are the error.
pub fn substitute_outputs(
    step: &Step,
    outputs: &BTreeMap<String, Outputs>,
) -> Result<Step, Vec<String>> {
    let mut replacements: Vec<(String, String)> = Vec::new();
    let mut missing = Vec::new();
    for (opening, key) in OUTPUT_PLACEHOLDERS {
        for address in addresses_in(step, opening) {
            match outputs.get(&address).and_then(|o| o.get(key.as_str())) {
                Some(arn) => replacements.push((format!("{opening}{address}}}"), arn.clone())),
                None => missing.push(address),
            }
        }
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(map_strings(step, |s| {
        let mut out = s.to_string();
        for (placeholder, arn) in &replacements {
            out = out.replace(placeholder, arn);
        }
        out
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgsplit_model::step::{
        Action, StackSet, StepSpec, kms_key_arn_placeholder, secret_arn_placeholder,
    };

    #[test]
    fn placeholders_are_found_and_replaced_everywhere() {
        let step = Step {
            address: "dev/dev-workloads/iam-role:app".into(),
            action: Action::Create,
            spec: StepSpec::StackSet(Box::new(StackSet {
                stackset_name: "orgsplit-baseline-dev".into(),
                template: "baseline".into(),
                template_digest: String::new(),
                template_body: String::new(),
                description: String::new(),
                capabilities: vec![],
                permission_model: "SERVICE_MANAGED".into(),
                auto_deployment: true,
                parameters: [
                    ("Trusted".to_string(), "arn:aws:iam::${account:dev-admin}:root".to_string()),
                    (
                        "Role".to_string(),
                        "arn:aws:iam::${account:dev-workloads}:role/x".to_string(),
                    ),
                ]
                .into(),
                operation: Default::default(),
            })),
            account: "${account:dev-workloads}".into(),
            region: None,
            depends_on: vec![],
            reads: vec![],
            reason: String::new(),
            notes: vec![],
        };
        assert_eq!(names_in(&step), ["dev-admin".to_string(), "dev-workloads".to_string()].into());
        let mut ids = BTreeMap::new();
        ids.insert("dev-workloads".to_string(), "222222222222".to_string());
        assert_eq!(substitute(&step, &ids).unwrap_err(), vec!["dev-admin".to_string()]);
        ids.insert("dev-admin".to_string(), "333333333333".to_string());
        let done = substitute(&step, &ids).unwrap();
        assert_eq!(done.account, "222222222222");
        let StepSpec::StackSet(inputs) = &done.spec else {
            panic!("the kind changed: {:?}", done.spec)
        };
        assert_eq!(inputs.parameters["Trusted"], "arn:aws:iam::333333333333:root");
        assert_eq!(inputs.parameters["Role"], "arn:aws:iam::222222222222:role/x");
        assert!(inputs.auto_deployment);
    }

    #[test]
    fn secret_and_key_placeholders_take_the_recorded_arns() {
        let address = "dev/dev-workloads/secret:dev/db";
        let key_address = "dev/dev-workloads/kms:dev/app";
        let mut step = Step::new(
            "dev/dev-workloads/iam-policy:read",
            Action::Create,
            "222222222222",
            StepSpec::IamPolicy(orgsplit_model::step::ResourceCopy {
                source_arn: "arn:aws:iam::111111111111:policy/read".into(),
                name: "read".into(),
                config: serde_json::json!({"Resource": [format!("{}:password::", secret_arn_placeholder(address)), kms_key_arn_placeholder(key_address)]}).into(),
                tags: BTreeMap::new(),
            }),
        );
        step.notes.push("unchanged".into());
        assert_eq!(secrets_in(&step), [address.to_string()].into());
        assert_eq!(keys_in(&step), [key_address.to_string()].into());
        let mut outputs = BTreeMap::new();
        assert_eq!(
            substitute_outputs(&step, &outputs).unwrap_err(),
            vec![address.to_string(), key_address.to_string()]
        );
        let arn = "arn:aws:secretsmanager:us-east-1:222222222222:secret:dev/db-Zx9Qw1";
        let key = "arn:aws:kms:us-east-1:222222222222:key/k-2";
        outputs.insert(address.to_string(), [("secret_arn".to_string(), arn.to_string())].into());
        assert_eq!(substitute_outputs(&step, &outputs).unwrap_err(), vec![key_address.to_string()]);
        outputs
            .insert(key_address.to_string(), [("kms_key_arn".to_string(), key.to_string())].into());
        let done = substitute_outputs(&step, &outputs).unwrap();
        let StepSpec::IamPolicy(copy) = &done.spec else { panic!("the kind changed") };
        assert_eq!(copy.config["Resource"], serde_json::json!([format!("{arn}:password::"), key]));
        assert!(secrets_in(&done).is_empty() && keys_in(&done).is_empty());
    }
}
