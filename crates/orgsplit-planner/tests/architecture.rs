//! Architecture Invariant: orgsplit-model and orgsplit-planner are pure. They depend,
//! directly or not, on neither tokio nor any `aws-sdk-*` crate.

use cargo_metadata::{CargoOpt, MetadataCommand};
use std::collections::{BTreeSet, HashMap};

#[test]
fn model_and_planner_depend_on_neither_tokio_nor_the_aws_sdk() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let meta = MetadataCommand::new()
        .manifest_path(manifest)
        .features(CargoOpt::AllFeatures)
        .exec()
        .expect("cargo metadata");
    let resolve = meta.resolve.as_ref().expect("resolve graph");
    let nodes: HashMap<_, _> = resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let name_of = |id| {
        meta.packages
            .iter()
            .find(|p| &p.id == id)
            .map(|p| p.name.to_string())
            .unwrap()
    };
    for root in ["orgsplit-model", "orgsplit-planner"] {
        let root_id = &meta
            .packages
            .iter()
            .find(|p| p.name.as_str() == root)
            .unwrap()
            .id;
        // Normal (non-dev) dependencies, transitively.
        let mut seen = BTreeSet::new();
        let mut stack = vec![root_id];
        while let Some(id) = stack.pop() {
            for dep in &nodes[id].deps {
                let normal = dep
                    .dep_kinds
                    .iter()
                    .any(|k| k.kind == cargo_metadata::DependencyKind::Normal);
                if normal && seen.insert(name_of(&dep.pkg)) {
                    stack.push(&dep.pkg);
                }
            }
        }
        assert!(
            seen.contains("serde"),
            "{root}: the walk found its dependencies: {seen:?}"
        );
        let forbidden: Vec<_> = seen
            .iter()
            .filter(|n| *n == "tokio" || n.starts_with("aws-sdk-") || n.starts_with("aws-config"))
            .collect();
        assert!(forbidden.is_empty(), "{root} depends on {forbidden:?}");
    }
}
