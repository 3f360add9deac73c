//! The streaming scan against states of every shape Terraform writes.

use super::*;
use serde_json::json;

const TOKEN: &str = "ghp_k3Yq8ZtW2vN5mR7pL1xC4bH6dJ9sF0gT2eAu";

fn v4(tokens: &[(&str, serde_json::Value)]) -> String {
    let resources: Vec<_> = tokens
        .iter()
        .map(|(name, tok)| {
            json!({
                "mode": "managed", "type": "aws_codepipeline", "name": name,
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{"schema_version": 0, "attributes": {
                    "name": name,
                    "stage": [{"name": "Source", "action": [{
                        "category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1",
                        "configuration": {"Owner": "acme", "Repo": "api", "Branch": "main", "OAuthToken": tok}}]}]
                }}]
            })
        })
        .collect();
    json!({"version": 4, "terraform_version": "1.5.7", "serial": 3, "lineage": "x",
           "outputs": {}, "resources": resources})
    .to_string()
}

fn scan_str(s: &str, token: Option<&str>) -> StateScan {
    let m = token.map(|t| TokenMatcher::new(&orgsplit_model::Secret::new(t)));
    scan(s.as_bytes(), m.as_ref()).unwrap()
}

#[test]
fn forms_are_told_apart() {
    assert_eq!(classify(TOKEN), TokenForm::Raw);
    assert_eq!(classify(&hashed_form(TOKEN)), TokenForm::Hashed);
    assert_eq!(classify("****"), TokenForm::Masked);
    assert_eq!(classify(""), TokenForm::Empty);
    // `hash-` with something that is not a sha256 is somebody's token.
    assert_eq!(classify("hash-1234"), TokenForm::Raw);
}

#[test]
fn finds_v4_tokens_with_their_address_and_form() {
    let state = v4(&[
        ("raw", json!(TOKEN)),
        ("hashed", json!(hashed_form(TOKEN))),
        ("masked", json!("****")),
        ("other", json!("ghp_someoneelse")),
        ("none", json!(null)),
    ]);
    let got = scan_str(&state, Some(TOKEN));
    assert_eq!(got.state_version, Some(4));
    let summary: Vec<_> = got
        .references
        .iter()
        .map(|r| (r.resource.clone().unwrap(), r.form, r.matches_token))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("aws_codepipeline.raw".into(), TokenForm::Raw, Some(true)),
            ("aws_codepipeline.hashed".into(), TokenForm::Hashed, Some(true)),
            ("aws_codepipeline.masked".into(), TokenForm::Masked, Some(false)),
            ("aws_codepipeline.other".into(), TokenForm::Raw, Some(false)),
        ]
    );
    assert_eq!(
        got.references[0].path,
        "resources[0].instances[0].attributes.stage[0].action[0].configuration.OAuthToken"
    );
    // Without a token to compare with, nothing is said about matching.
    assert!(scan_str(&state, None).references.iter().all(|r| r.matches_token.is_none()));
}

#[test]
fn no_value_ever_reaches_the_result() {
    let state = v4(&[("raw", json!(TOKEN)), ("hashed", json!(hashed_form(TOKEN)))]);
    let got = scan_str(&state, Some(TOKEN));
    let text = format!("{got:?} {}", serde_json::to_string(&got).unwrap());
    assert!(!text.contains(TOKEN));
    assert!(!text.contains(&hashed_form(TOKEN)[5..]));
    let m = TokenMatcher::new(&orgsplit_model::Secret::new(TOKEN));
    assert!(!format!("{m:?}").contains(TOKEN));
}

#[test]
fn modules_and_counted_instances_are_addressed() {
    let state = json!({"version": 4, "resources": [
        {"module": "module.ci", "mode": "managed", "type": "aws_codepipeline", "name": "p",
         "instances": [
            {"index_key": 0, "attributes": {"stage": [{"action": [{"configuration": {"OAuthToken": "****"}}]}]}},
            {"index_key": "b", "attributes": {"stage": [{"action": [{"configuration": {"OAuthToken": "****"}}]}]}}
         ]},
        {"mode": "data", "type": "aws_codepipeline", "name": "d",
         "instances": [{"attributes": {"OAuthToken": "x"}}]}
    ]})
    .to_string();
    let got = scan_str(&state, None);
    let addresses: Vec<_> = got.references.iter().map(|r| r.resource.clone().unwrap()).collect();
    assert_eq!(
        addresses,
        vec![
            "module.ci.aws_codepipeline.p[0]",
            "module.ci.aws_codepipeline.p[\"b\"]",
            "data.aws_codepipeline.d"
        ]
    );
}

#[test]
fn finds_v3_flattened_tokens() {
    let state = json!({"version": 3, "terraform_version": "0.11.14", "modules": [{
        "path": ["root"],
        "resources": {"aws_codepipeline.legacy": {"type": "aws_codepipeline", "primary": {
            "id": "legacy",
            "attributes": {
                "stage.#": "1",
                "stage.0.action.0.configuration.%": "4",
                "stage.0.action.0.configuration.OAuthToken": hashed_form(TOKEN),
                "stage.0.action.0.configuration.Owner": "acme"
            }}}}
    }]})
    .to_string();
    let got = scan_str(&state, Some(TOKEN));
    assert_eq!(got.references.len(), 1);
    let r = &got.references[0];
    assert_eq!(r.resource.as_deref(), Some("aws_codepipeline.legacy"));
    assert_eq!(r.form, TokenForm::Hashed);
    assert_eq!(r.matches_token, Some(true));
    assert_eq!(
        r.path,
        "modules[0].resources.aws_codepipeline.legacy.primary.attributes.stage.0.action.0.configuration.OAuthToken"
    );
}

#[test]
fn addresses_do_not_depend_on_member_order() {
    // As `jq -S` writes it: instances before name and type, attributes before index_key.
    let state = r#"{"resources": [{"instances": [
            {"attributes": {"stage": [{"action": [{"configuration": {"OAuthToken": "****"}}]}]}, "index_key": "b"}
        ], "mode": "managed", "module": "module.ci", "name": "p", "type": "aws_codepipeline"}],
        "version": 4}"#;
    let got = scan_str(state, None);
    assert_eq!(got.references[0].resource.as_deref(), Some("module.ci.aws_codepipeline.p[\"b\"]"));
    let v3 = json!({"version": 3, "modules": [{"path": ["root", "ci"], "resources": {
        "aws_codepipeline.x": {"primary": {"attributes": {"stage.0.action.0.configuration.OAuthToken": "****"}}}}}]})
    .to_string();
    assert_eq!(
        scan_str(&v3, None).references[0].resource.as_deref(),
        Some("module.ci.aws_codepipeline.x")
    );
}

#[test]
fn states_without_tokens_yield_nothing() {
    let state =
        json!({"version": 4, "resources": [{"mode": "managed", "type": "aws_vpc", "name": "main",
        "instances": [{"attributes": {"id": "vpc-1", "tags": {"Name": "dev"}}}]}]})
        .to_string();
    assert!(scan_str(&state, Some(TOKEN)).references.is_empty());
}

#[test]
fn what_is_not_a_state_is_refused() {
    for bad in [
        "",
        "not json",
        "{\"version\": 4, \"resources\": [",
        "[1, 2]",
        "{\"resources\": []}",
        "{\"version\": 4} trailing",
    ] {
        let err = scan(bad.as_bytes(), None).unwrap_err();
        assert!(matches!(err, TfstateError::NotState(_)), "{bad:?}: {err}");
    }
}
