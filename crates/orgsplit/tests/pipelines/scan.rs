//! Stages of `pipelines scan`.

use super::*;

/// Scan reports every v1 pipeline and every token reference, by form, writing nothing.
pub(super) fn scan_reports_every_pipeline_and_token_reference(s: &mut Scenario) {
    let d = s.dir.path();
    let token = s.token.as_str();
    fields!(s; emu; log);
    // ---- scan: read-only, every v1 pipeline and every token reference, by form.
    emu.clear_requests();
    let scan = orgsplit(
        emu,
        d,
        Some(token),
        &[
            "pipelines",
            "scan",
            "--tfstate",
            "s3://acme-terraform-state/",
            "--tfstate",
            "states",
            "--token-env",
            "GH_TOKEN",
            "--output",
            "json",
        ],
    );
    assert_eq!(scan.code, Some(0), "{}", scan.stderr);
    let report: Value = serde_json::from_str(&scan.stdout).unwrap();
    let mut names: Vec<&str> = report["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["dev-api-build", "mail-sender-release", "prod-api-release"]);
    let prod = report["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "prod-api-release")
        .unwrap();
    assert_eq!(prod["sources"][0]["trigger"], "webhook");
    assert_eq!(prod["sources"][0]["owner"], "acme");
    assert_eq!(prod["sources"][0]["repo"], "api");
    assert_eq!(prod["sources"][0]["branch"], "main");
    assert_eq!(prod["webhooks"][0]["name"], "prod-api-release--Source--acme--api");
    let states: Vec<(String, Vec<Found>)> = report["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let refs = s["references"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["resource"].as_str().unwrap_or_default().to_string(),
                        r["form"].as_str().unwrap().to_string(),
                        r["matches_token"].clone(),
                    )
                })
                .collect();
            (s["location"].as_str().unwrap().to_string(), refs)
        })
        .collect();
    let find = |suffix: &str| {
        states
            .iter()
            .find(|(l, _)| l.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} not scanned: {states:?}"))
            .1
            .clone()
    };
    assert_eq!(
        find("prod/pipelines.tfstate"),
        vec![
            ("aws_codepipeline.prod_api_release".into(), "raw".into(), json!(true)),
            ("aws_codepipeline.mail_sender_release".into(), "raw".into(), json!(true)),
        ]
    );
    assert_eq!(
        find("legacy/pipelines.tfstate"),
        vec![("aws_codepipeline.dev_api_build".into(), "hashed".into(), json!(true))]
    );
    assert_eq!(find("dev/network.tfstate"), vec![]);
    assert_eq!(
        find("imported.tfstate"),
        vec![("aws_codepipeline.imported".into(), "masked".into(), json!(false))]
    );
    assert_eq!(
        find("old.tfstate"),
        vec![("aws_codepipeline.old".into(), "hashed".into(), json!(true))]
    );
    assert_eq!(find("vpc.tfstate"), vec![]);
    assert_eq!(states.len(), 6, "only *.tfstate files are read: {states:?}");
    assert_eq!(report["summary"]["matching_token"], 4);
    assert_eq!(report["summary"]["states_with_tokens"], 3);
    log.push(scan);
    let text =
        orgsplit(emu, d, None, &["pipelines", "scan", "--tfstate", "s3://acme-terraform-state/"]);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert!(
        text.stdout.contains("prod-api-release  Source.Source  acme/api@main  webhook"),
        "{}",
        text.stdout
    );
    log.push(text);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "scan wrote");
}

/// Scan names a file that is not a state, after reporting the rest.
pub(super) fn scan_names_a_file_that_is_not_a_state(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu; log);
    // A file that is not a state: exit 2, named, after the rest was reported.
    std::fs::create_dir_all(d.join("bad")).unwrap();
    std::fs::write(d.join("bad/broken.tfstate"), "{\"version\": 4, \"resources\": [").unwrap();
    let bad = orgsplit(emu, d, None, &["pipelines", "scan", "--tfstate", "bad"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("broken.tfstate: not a Terraform state"), "{}", bad.stderr);
    log.push(bad);
}
