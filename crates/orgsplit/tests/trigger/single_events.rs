//! Stages that hand one event at a time to `orgsplit trigger handle --event`.

use super::*;

/// A new account moved into dev is reconciled from CreateAccountResult, without listing the organization.
pub(super) fn a_new_account_is_reconciled_from_its_creation_event(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, rt, aws, m, dev_ou, dev_admin; figures, a);
    // A new account, moved into dev: CreateAccountResult says nothing of the OU.
    *a = rt.block_on(async {
        let a = create_account(m, "team-a").await;
        move_to(m, &a, dev_ou).await;
        a
    });
    std::fs::write(d.join("created.json"), fixture("create-account-result.json", a, "", ""))
        .unwrap();
    emu.clear_requests();
    let (run, out) = handle(emu, d, "created.json");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(out["outcome"], "reconciled", "{}", run.stdout);
    assert_eq!(out["reconcile"]["ou"], "dev");
    figures.push((
        "CreateAccountResult, first account of the OU",
        out.clone(),
        emu.requests().len(),
    ));
    assert!(
        !emu.requests()
            .iter()
            .any(|r| r["operation"] == "ListAccounts" || r["operation"] == "ListAccountsForParent"),
        "one event listed the organization's accounts"
    );
    assert_eq!(rt.block_on(trusted(aws, a)), Some(only(dev_admin)));
}

/// Moved to prod: only the prod admin is trusted after one event.
pub(super) fn a_moved_account_trusts_only_its_new_admin(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, rt, aws, m, prod_ou, prod_admin; figures, a, from);
    // Moved to prod: only the prod admin is trusted after one event.
    *from = rt.block_on(move_to(m, a, prod_ou));
    std::fs::write(d.join("moved.json"), fixture("move-account.json", a, from, prod_ou)).unwrap();
    emu.clear_requests();
    let (run, out) = handle(emu, d, "moved.json");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(out["reconcile"]["ou"], "prod");
    assert_eq!(out["reconcile"]["instances_removed"], json!(["orgsplit-baseline-dev us-east-1"]));
    figures.push(("MoveAccount dev -> prod", out.clone(), emu.requests().len()));
    assert_eq!(rt.block_on(trusted(aws, a)), Some(only(prod_admin)));
}

/// The same event again changes nothing and writes nothing.
pub(super) fn a_replayed_event_writes_nothing(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu; figures);
    // The same event again: nothing to change, nothing written.
    emu.clear_requests();
    let (run, out) = handle(emu, d, "moved.json");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(out["reconcile"]["changed"], false);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "replay");
    figures.push(("MoveAccount replayed", out.clone(), emu.requests().len()));
}

/// Control Tower's event: the reconcile still asks Organizations for the OU.
pub(super) fn control_towers_event_is_reconciled(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, prod_ou; a);
    // Control Tower's event carries the OU; the reconcile still asks Organizations.
    std::fs::write(d.join("ct.json"), fixture("update-managed-account.json", a, "", prod_ou))
        .unwrap();
    let (run, out) = handle(emu, d, "ct.json");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(out["reconcile"]["ou"], "prod");
}

/// Other events are ignored and malformed ones exit 2, writing nothing.
pub(super) fn other_and_malformed_events_change_nothing(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, prod_ou; from);
    // Other events are ignored; malformed ones exit 2; neither changes anything.
    emu.clear_requests();
    let (run, out) = handle(emu, d, &format!("{FIXTURES}/other-event.json"));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(out["outcome"], "ignored");
    std::fs::write(d.join("bad.json"), fixture("move-account.json", "12345", from, prod_ou))
        .unwrap();
    let bad = orgsplit(emu, d, &["trigger", "handle", "--event", "bad.json"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("detail.requestParameters.accountId"), "{}", bad.stderr);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "ignored/malformed");
}

/// Moved out of every configured OU: the old OU's instances go.
pub(super) fn an_account_moved_to_the_root_loses_its_instances(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, rt, aws, m, root; a, from);
    // Moved out of every configured OU (to the root): the old OU's instances go.
    *from = rt.block_on(move_to(m, a, root));
    std::fs::write(d.join("to-root.json"), fixture("move-account.json", a, from, root)).unwrap();
    let (run, out) = handle(emu, d, "to-root.json");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(out["reconcile"]["instances_removed"], json!(["orgsplit-baseline-prod us-east-1"]));
    assert_eq!(rt.block_on(trusted(aws, a)), None, "no OU, no trust");
}
