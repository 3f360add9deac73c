//! Tidy checks: the architecture invariants of `docs/architecture.md` that a test can read
//! from the tree and the manifests.

use cargo_metadata::{CargoOpt, DependencyKind, Metadata, MetadataCommand, Package};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn metadata() -> Metadata {
    MetadataCommand::new()
        .manifest_path(orgsplit_testkit::repo_root().join("Cargo.toml"))
        .features(CargoOpt::AllFeatures)
        .exec()
        .expect("cargo metadata")
}

fn members(meta: &Metadata) -> Vec<&Package> {
    meta.packages.iter().filter(|p| meta.workspace_members.contains(&p.id)).collect()
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| e.into_path())
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(orgsplit_testkit::repo_root()).unwrap_or(path).display().to_string()
}

/// Architecture Invariant: orgsplit-model and orgsplit-planner are pure. They depend,
/// directly or not, on neither tokio nor any `aws-sdk-*` crate.
#[test]
fn model_and_planner_depend_on_neither_tokio_nor_the_aws_sdk() {
    let meta = metadata();
    let resolve = meta.resolve.as_ref().expect("resolve graph");
    let nodes: HashMap<_, _> = resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let name_of =
        |id| meta.packages.iter().find(|p| &p.id == id).map(|p| p.name.to_string()).unwrap();
    for root in ["orgsplit-model", "orgsplit-planner"] {
        let root_id = &meta.packages.iter().find(|p| p.name.as_str() == root).unwrap().id;
        // Normal (non-dev) dependencies, transitively.
        let mut seen = BTreeSet::new();
        let mut stack = vec![root_id];
        while let Some(id) = stack.pop() {
            for dep in &nodes[id].deps {
                let normal = dep.dep_kinds.iter().any(|k| k.kind == DependencyKind::Normal);
                if normal && seen.insert(name_of(&dep.pkg)) {
                    stack.push(&dep.pkg);
                }
            }
        }
        assert!(seen.contains("serde"), "{root}: the walk found its dependencies: {seen:?}");
        let forbidden: Vec<_> = seen
            .iter()
            .filter(|n| *n == "tokio" || n.starts_with("aws-sdk-") || n.starts_with("aws-config"))
            .collect();
        assert!(forbidden.is_empty(), "{root} depends on {forbidden:?}");
    }
}

/// Dependencies declared only to turn on a feature of a crate pulled in by another: never
/// named in code. Each says why it is there.
const FEATURE_ONLY: &[(&str, &str)] = &[
    // The SDK's HTTP client with the rustls/aws-lc TLS stack (a feature, no code).
    ("orgsplit-aws", "aws-smithy-http-client"),
];

/// No crate declares a dependency its code never names (what cargo-machete checks): a
/// dependency is a build cost and a supply-chain risk, and an unused one hides.
#[test]
fn every_declared_dependency_is_used() {
    let meta = metadata();
    let mut unused = Vec::new();
    for package in members(&meta) {
        let root = package.manifest_path.parent().unwrap().as_std_path();
        let sources = |dirs: &[&str]| -> String {
            let mut all = String::new();
            for dir in dirs {
                for file in rust_files(&root.join(dir)) {
                    all.push_str(&read(&file));
                }
            }
            if root.join("build.rs").exists() {
                all.push_str(&read(&root.join("build.rs")));
            }
            all
        };
        let normal = sources(&["src"]);
        let every = sources(&["src", "tests", "benches", "examples"]);
        for dep in &package.dependencies {
            let name = dep.rename.as_deref().unwrap_or(&dep.name);
            if FEATURE_ONLY.contains(&(package.name.as_str(), name)) {
                continue;
            }
            let ident = name.replace('-', "_");
            let code = match dep.kind {
                DependencyKind::Development => &every,
                _ => &normal,
            };
            // A path (`serde::`), a macro (`tokio::main`), or a crate name handed to a
            // macro (`ssm => aws_sdk_ssm, "ssm"`); never a local of the same name.
            let used = regex::Regex::new(&format!(r"(^|[^\w.]){ident}(::|!|\s*[;,)\]}}])"))
                .unwrap()
                .is_match(code);
            if !used {
                unused.push(format!("{} -> {name} ({:?})", package.name, dep.kind));
            }
        }
    }
    assert!(unused.is_empty(), "declared and never used: {unused:#?}");
}

/// The workspace's `[workspace.dependencies]` lists only what some member uses.
#[test]
fn every_workspace_dependency_has_a_user() {
    let meta = metadata();
    let root: toml::Table = read(&orgsplit_testkit::repo_root().join("Cargo.toml"))
        .parse()
        .expect("Cargo.toml is TOML");
    let declared = root["workspace"]["dependencies"].as_table().expect("[workspace.dependencies]");
    let used: BTreeSet<&str> = members(&meta)
        .iter()
        .flat_map(|p| p.dependencies.iter().map(|d| d.name.as_str()))
        .collect();
    let orphans: Vec<&String> = declared.keys().filter(|k| !used.contains(k.as_str())).collect();
    assert!(orphans.is_empty(), "no member uses {orphans:?}");
}

/// Source files outside the binary, with where a rule allows an exception.
fn library_sources() -> Vec<PathBuf> {
    let crates = orgsplit_testkit::repo_root().join("crates");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        // The binary prints; the testkit is code for tests.
        if name == "orgsplit" || name == "orgsplit-testkit" {
            continue;
        }
        files.extend(rust_files(&entry.path().join("src")));
    }
    files
}

/// Architecture Invariant: only the binary prints; libraries report through `Reporter`
/// traits and `tracing`.
#[test]
fn only_the_binary_prints() {
    let printing = regex::Regex::new(r"\b(e?println!|e?print!|dbg!)|std::io::stdout\(\)").unwrap();
    let offenders: Vec<String> = library_sources()
        .iter()
        .flat_map(|f| {
            read(f)
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim_start().starts_with("//") && printing.is_match(l))
                .map(|(i, l)| format!("{}:{}: {}", relative(f), i + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(offenders.is_empty(), "printing outside the binary: {offenders:#?}");
}

/// Architecture Invariant: SDK clients and their configuration are built only in
/// `orgsplit-aws` (credentials, endpoints, rate limits and retry partitions live there).
#[test]
fn sdk_clients_are_built_only_in_orgsplit_aws() {
    let building = regex::Regex::new(
        r"\baws_config::|::Client::(new|from_conf)\(|aws_sdk_\w+::config::Builder",
    )
    .unwrap();
    let mut offenders = Vec::new();
    for crate_dir in std::fs::read_dir(orgsplit_testkit::repo_root().join("crates"))
        .unwrap()
        .filter_map(Result::ok)
    {
        if crate_dir.file_name() == "orgsplit-aws" {
            continue;
        }
        for f in rust_files(&crate_dir.path().join("src")) {
            for (i, line) in read(&f).lines().enumerate() {
                if building.is_match(line) {
                    offenders.push(format!("{}:{}: {}", relative(&f), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "SDK clients built outside orgsplit-aws: {offenders:#?}");
}

/// The longest a source file may be: a module is read in one sitting.
const MAX_LINES: usize = 600;

#[test]
fn no_source_file_is_over_600_lines() {
    let root = orgsplit_testkit::repo_root();
    let over: Vec<String> = rust_files(&root.join("crates"))
        .iter()
        .map(|file| (relative(file), read(file).lines().count()))
        .filter(|(_, lines)| *lines > MAX_LINES)
        .map(|(name, lines)| format!("{name}: {lines} lines"))
        .collect();
    assert!(over.is_empty(), "over {MAX_LINES} lines: {over:#?}");
}

/// Architecture Invariant: the binary has no domain logic: it makes no AWS call of its own
/// (no request is sent from `crates/orgsplit/src`), and its commands do not import each
/// other (what two commands share lives beside them: `context.rs`, `report.rs`).
#[test]
fn the_binary_sends_no_request_and_its_commands_stand_alone() {
    let src = orgsplit_testkit::repo_root().join("crates/orgsplit/src");
    let sending = regex::Regex::new(r"\.send\(\)").unwrap();
    let other_command = regex::Regex::new(r"crate::commands::\w+").unwrap();
    let mut offenders = Vec::new();
    for file in rust_files(&src) {
        let in_commands =
            file.starts_with(src.join("commands")) && !file.ends_with("commands/mod.rs");
        for (i, line) in read(&file).lines().enumerate() {
            if sending.is_match(line) || (in_commands && other_command.is_match(line)) {
                offenders.push(format!("{}:{}: {}", relative(&file), i + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// The repository's docs stand alone: every repository path they name exists (relative to
/// the root, or to the document's folder). Paths orgsplit writes (`plans/pipelines/`) and
/// patterns (`*`, `NAME`) are not files to find.
#[test]
fn docs_name_only_files_that_exist() {
    let root = orgsplit_testkit::repo_root();
    let mut docs = vec![root.join("README.md"), root.join("tests/emulator/README.md")];
    docs.extend(
        std::fs::read_dir(root.join("docs"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "md")),
    );
    let path = regex::Regex::new(
        r"(?:^|[^\w/.-])((?:docs|crates|tests|scripts|plans|stacksets|\.ci)/[A-Za-z0-9_./-]*[A-Za-z0-9_])",
    )
    .unwrap();
    let placeholder = regex::Regex::new(r"[A-Z]{3,}").unwrap();
    let mut missing = Vec::new();
    for doc in &docs {
        for (i, line) in read(doc).lines().enumerate() {
            for m in path.captures_iter(line) {
                let named = &m[1];
                if named.contains('*')
                    || placeholder.is_match(named)
                    || named.starts_with("plans/pipelines/")
                {
                    continue;
                }
                if !root.join(named).exists() && !doc.parent().unwrap().join(named).exists() {
                    missing.push(format!("{}:{}: {named}", relative(doc), i + 1));
                }
            }
        }
    }
    let spec = regex::Regex::new(r"shared/spec|\b(product|quality)\.md").unwrap();
    for doc in &docs {
        for (i, line) in read(doc).lines().enumerate() {
            if spec.is_match(line) {
                missing.push(format!(
                    "{}:{}: names a file outside the repository",
                    relative(doc),
                    i + 1
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}
