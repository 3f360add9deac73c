//! `Inventory::from_text` reads what `serde_json::from_str` reads, and fails where it fails,
//! with its error: the list of resources is read in two parts from a guessed middle, and no
//! guess may change the result.

use orgsplit_model::Inventory;
use serde_json::{Value, json};

/// A resource whose configuration holds what looks like list elements (`}, {`): policy
/// statements, and a string with a whole resource's text in it.
fn resource(i: usize) -> Value {
    json!({
        "kind": "iam-role",
        "name": format!("role-{i:05}"),
        "arn": format!("arn:aws:iam::111111111111:role/role-{i:05}"),
        "region": null,
        "tags": {"Environment": if i.is_multiple_of(2) { "dev" } else { "prod" }},
        "config": {
            "Path": "/",
            "Description": "}, {\"kind\": \"ssm\", \"name\": \"x\"}, {",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"},
                {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ]}
        },
        "references": [
            {"arn": "arn:aws:ssm:us-east-1:111111111111:parameter/a", "via": "x"},
            {"arn": "arn:aws:ssm:us-east-1:111111111111:parameter/b", "via": "y"}
        ],
        "fingerprint": format!("sha256:{i:064x}")
    })
}

/// An object shaped like a resource, inside a configuration: read from its start it is one.
fn decoy() -> Value {
    json!({
        "kind": "ssm", "name": "/decoy", "arn": "arn:aws:ssm:us-east-1:111111111111:parameter/decoy",
        "region": "us-east-1", "tags": {}, "config": {}, "references": [], "fingerprint": "sha256:00"
    })
}

/// An inventory of `n` resources (over 1 MiB of text from about 1,500), with decoys in the
/// configurations of resources `decoys_at`.
fn inventory(n: usize, decoys_at: &[usize]) -> Value {
    let resources: Vec<Value> = (0..n)
        .map(|i| {
            let mut r = resource(i);
            if decoys_at.contains(&i) {
                r["config"]["Nested"] = json!([decoy(), decoy(), decoy()]);
            }
            r
        })
        .collect();
    json!({
        "format_version": 1,
        "orgsplit_version": "0.1.0",
        "created_at": "2026-12-04T12:00:00Z",
        "source_account_id": "111111111111",
        "regions": ["us-east-1"],
        "organization": {"id": "o-abc", "management_account_id": "123456789012", "root_id": "r-1",
            "ous": [], "accounts": [], "service_access": [], "policies": []},
        "resources": resources,
        "coverage": [{"listing": "Lambda functions", "region": "us-east-1", "found": 0}]
    })
}

/// The three layouts inventories come in: orgsplit's compact text, pretty-printed, and
/// Python's `json.dump` (`", "` and `": "`).
fn layouts(v: &Value) -> Vec<(&'static str, String)> {
    let compact = serde_json::to_string(v).unwrap();
    let python = compact.replace(",\"", ", \"").replace("\":", "\": ").replace(",{", ", {");
    vec![
        ("compact", compact),
        ("pretty", serde_json::to_string_pretty(v).unwrap()),
        ("python", python),
    ]
}

fn assert_reads_as_serde(name: &str, text: &str) {
    let serial = serde_json::from_str::<Inventory>(text);
    let parts = Inventory::from_text(text);
    match (serial, parts) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.resources.len(), b.resources.len(), "{name}: resource count");
            assert!(a == b, "{name}: the inventories differ");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name}: the errors differ"),
        (a, b) => panic!("{name}: serde_json read {:?}, from_text {:?}", a.is_ok(), b.is_ok()),
    }
}

#[test]
fn a_large_inventory_reads_as_serde_reads_it_in_every_layout() {
    let v = inventory(3_000, &[]);
    for (layout, text) in layouts(&v) {
        assert!(
            text.len() > 1 << 20,
            "{layout}: the test's text is large enough to be read in parts"
        );
        assert_reads_as_serde(layout, &text);
    }
}

#[test]
fn resource_shaped_objects_around_the_middle_do_not_change_what_is_read() {
    // Decoys in the resources on either side of the middle and at it: the worker's guesses
    // land in them first.
    for around in [1_490, 1_495, 1_500, 1_505, 1_510] {
        let v = inventory(3_000, &[around - 1, around, around + 1]);
        for (layout, text) in layouts(&v) {
            assert_reads_as_serde(&format!("{layout}, decoys at {around}"), &text);
        }
    }
}

#[test]
fn a_small_inventory_reads_as_serde_reads_it() {
    for (layout, text) in layouts(&inventory(3, &[1])) {
        assert_reads_as_serde(layout, &text);
    }
    for (layout, text) in layouts(&inventory(0, &[])) {
        assert_reads_as_serde(&format!("{layout}, no resources"), &text);
    }
}

#[test]
fn broken_texts_fail_with_serdes_error() {
    let text = serde_json::to_string(&inventory(3_000, &[])).unwrap();
    let cases = [
        ("cut short in the second half", text[..text.len() * 3 / 4].to_string()),
        ("a syntax error in the second half", {
            let at = text.len() * 3 / 4;
            let at = at + text[at..].find("\"region\"").unwrap();
            format!("{}\"region\" null{}", &text[..at], &text[at + "\"region\":null".len()..])
        }),
        (
            "a resource missing its ARN in the first half",
            text.replacen("\"arn\":\"arn:aws:iam::111111111111:role/role-00010\",", "", 1),
        ),
        (
            "a resource missing its ARN in the second half",
            text.replacen("\"arn\":\"arn:aws:iam::111111111111:role/role-02900\",", "", 1),
        ),
        ("text after the inventory", format!("{text} {{}}")),
        (
            "resources twice",
            text.replacen("{\"format_version\"", "{\"resources\":[],\"format_version\"", 1),
        ),
        ("not an object", format!("[{text}]")),
    ];
    for (name, text) in cases {
        assert!(serde_json::from_str::<Inventory>(&text).is_err(), "{name}: the case is an error");
        assert_reads_as_serde(name, &text);
    }
}

#[test]
fn members_are_read_by_the_types_own_rules() {
    let mut v = inventory(3_000, &[]);
    // Unknown members are ignored, as by serde; `partition` takes its default when absent.
    v["written_by"] = json!({"tool": "a script"});
    let text = serde_json::to_string(&v).unwrap();
    assert!(!text.contains("\"partition\""));
    assert_reads_as_serde("unknown member, no partition", &text);
    assert_eq!(Inventory::from_text(&text).unwrap().partition, "aws");
    // The list first, and the organization after it.
    let moved = text.replacen("\"resources\":", "\"resources_\":", 1);
    let resources = serde_json::to_string(&v["resources"]).unwrap();
    let reordered = format!("{{\"resources\":{resources},{}", &moved[1..]).replacen(
        &format!(",\"resources_\":{resources}"),
        "",
        1,
    );
    assert_reads_as_serde("resources first", &reordered);
    assert_eq!(Inventory::from_text(&reordered).unwrap().resources.len(), 3_000);
}
