//! `${account:NAME}`: an account the plan creates, replaced by its id once it exists.

use orgsplit_model::Step;
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

fn replace_value(v: &Value, ids: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(replace(s, ids)),
        Value::Array(a) => Value::Array(a.iter().map(|x| replace_value(x, ids)).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (replace(k, ids), replace_value(x, ids))).collect())
        }
        other => other.clone(),
    }
}

/// The step with every placeholder replaced; the names without an id are the error.
pub fn substitute(step: &Step, ids: &BTreeMap<String, String>) -> Result<Step, Vec<String>> {
    let missing: Vec<String> =
        names_in(step).into_iter().filter(|n| !ids.contains_key(n)).collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut out = step.clone();
    out.account = replace(&step.account, ids);
    // The typed inputs go through their JSON form: every string field is covered, and the
    // replaced text is still the same shape.
    out.spec = serde_json::from_value(replace_value(&spec_value(step), ids))
        .expect("replacing placeholders keeps the inputs' shape");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgsplit_model::step::{Action, StackSet, StepSpec};

    #[test]
    fn placeholders_are_found_and_replaced_everywhere() {
        let step = Step {
            address: "dev/dev-workloads/iam-role:app".into(),
            action: Action::Create,
            spec: StepSpec::StackSet(StackSet {
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
            }),
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
}
