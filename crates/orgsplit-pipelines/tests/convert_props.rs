//! Properties of the v1 GitHub -> CodeStar Connections conversion over generated
//! declarations: idempotent, never keeps a token, leaves every other action as it was.

use orgsplit_pipelines::convert::{is_codestar_source, is_v1_github, token_paths};
use orgsplit_pipelines::{to_codestar, v1_github_sources};
use proptest::prelude::*;
use serde_json::{Value, json};

const ARN: &str = "arn:aws:codestar-connections:eu-west-1:222222222222:connection/x";

fn v1_action() -> impl Strategy<Value = Value> {
    (
        "[A-Za-z][A-Za-z0-9_-]{0,12}",
        proptest::option::of("[a-z0-9-]{1,10}"),
        proptest::option::of("[a-z0-9-]{1,10}"),
        proptest::option::of("[a-z0-9/_-]{1,10}"),
        proptest::option::of(prop_oneof![Just("true"), Just("false"), Just("TRUE"), Just("junk")]),
        proptest::option::of(1u32..5),
        proptest::option::of("[a-z]{1,8}"),
        "[a-zA-Z0-9]{0,20}",
    )
        .prop_map(|(name, owner, repo, branch, poll, run_order, namespace, token)| {
            let mut conf = serde_json::Map::new();
            for (k, v) in [("Owner", owner), ("Repo", repo), ("Branch", branch)] {
                if let Some(v) = v {
                    conf.insert(k.into(), json!(v));
                }
            }
            if let Some(p) = poll {
                conf.insert("PollForSourceChanges".into(), json!(p));
            }
            conf.insert("OAuthToken".into(), json!(token));
            let mut action = json!({
                "name": name,
                "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
                "configuration": conf,
                "outputArtifacts": [{"name": "src"}],
                "inputArtifacts": [],
            });
            if let Some(r) = run_order {
                action["runOrder"] = json!(r);
            }
            if let Some(n) = namespace {
                action["namespace"] = json!(n);
            }
            action
        })
}

fn other_action() -> impl Strategy<Value = Value> {
    (
        "[A-Za-z][A-Za-z0-9_-]{0,12}",
        prop_oneof![
            Just(("Build", "AWS", "CodeBuild", "1")),
            Just(("Approval", "AWS", "Manual", "1")),
            Just(("Source", "AWS", "CodeCommit", "1")),
            // Near misses: a v2-looking GitHub source, a GitHub action in another category.
            Just(("Source", "ThirdParty", "GitHub", "2")),
            Just(("Deploy", "ThirdParty", "GitHub", "1")),
        ],
        proptest::collection::btree_map("[A-Z][a-zA-Z]{0,8}", "[a-z0-9]{0,8}", 0..4),
    )
        .prop_map(|(name, (category, owner, provider, version), conf)| {
            json!({
                "name": name,
                "actionTypeId": {"category": category, "owner": owner, "provider": provider, "version": version},
                "configuration": conf,
                "runOrder": 1,
            })
        })
}

fn declaration() -> impl Strategy<Value = Value> {
    let action = prop_oneof![v1_action(), other_action()];
    let stage = ("[A-Za-z]{1,8}", proptest::collection::vec(action, 1..4))
        .prop_map(|(name, actions)| json!({"name": name, "actions": actions}));
    (proptest::collection::vec(stage, 1..5), any::<bool>()).prop_map(|(stages, v2)| {
        let mut d = json!({
            "name": "p",
            "roleArn": "arn:aws:iam::222222222222:role/r",
            "artifactStore": {"type": "S3", "location": "b"},
            "stages": stages,
        });
        if v2 {
            d["pipelineType"] = json!("V2");
        }
        d
    })
}

fn actions(d: &Value) -> Vec<&Value> {
    d["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["actions"].as_array().into_iter().flatten())
        .collect()
}

proptest! {
    #[test]
    fn conversion_is_idempotent(d in declaration(), hook in any::<bool>()) {
        let once = to_codestar(&d, ARN, hook);
        prop_assert_eq!(to_codestar(&once, ARN, hook), once);
    }

    #[test]
    fn no_token_survives(d in declaration(), hook in any::<bool>()) {
        let out = to_codestar(&d, ARN, hook);
        prop_assert!(token_paths(&out).is_empty(), "{:?}", token_paths(&out));
        prop_assert!(v1_github_sources(&out).is_empty());
    }

    #[test]
    fn other_actions_and_the_shape_are_kept(d in declaration(), hook in any::<bool>()) {
        let out = to_codestar(&d, ARN, hook);
        let (before, after) = (actions(&d), actions(&out));
        prop_assert_eq!(before.len(), after.len());
        prop_assert_eq!(&out["roleArn"], &d["roleArn"]);
        prop_assert_eq!(&out["artifactStore"], &d["artifactStore"]);
        for (b, a) in before.iter().zip(&after) {
            prop_assert_eq!(&a["name"], &b["name"]);
            prop_assert_eq!(&a["outputArtifacts"], &b["outputArtifacts"]);
            if is_v1_github(b) {
                prop_assert!(is_codestar_source(a));
                prop_assert_eq!(&a["configuration"]["ConnectionArn"], &json!(ARN));
                prop_assert_eq!(&a["configuration"]["OutputArtifactFormat"], &json!("CODE_ZIP"));
                prop_assert_eq!(&a["runOrder"], &b["runOrder"]);
                prop_assert_eq!(&a["namespace"], &b["namespace"]);
            } else {
                prop_assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn sources_are_found_in_order(d in declaration()) {
        let expected: Vec<&Value> = actions(&d).into_iter().filter(|a| is_v1_github(a)).collect();
        let found = v1_github_sources(&d);
        prop_assert_eq!(found.len(), expected.len());
        for (f, a) in found.iter().zip(expected) {
            prop_assert_eq!(json!(f.action), a["name"].clone());
        }
    }
}
