//! What a crate that depends on `ember` with default features links.
//!
//! serde_json implements `PartialEq<Value>` for the integer types, so in any
//! crate that links it `assert_eq!(x, v.iter().sum())` no longer infers the
//! sum's type. The observer's JSON codec therefore stays behind the
//! `observer` feature, and this checks that nothing else pulls it back in.

use std::process::Command;

/// The names of the crates in `ember`'s normal dependency graph with
/// `features` (as `cargo tree` resolves them, without the rest of the
/// workspace).
fn normal_dependencies(features: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["tree", "--offline", "--quiet", "-p", "ember", "-e", "normal", "--prefix", "none", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    let out = cmd.output().expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn the_default_features_do_not_link_serde_json() {
    let deps = normal_dependencies(&[]);
    assert!(deps.iter().any(|d| d == "ember-runtime"), "the graph was read: {deps:?}");
    assert!(!deps.iter().any(|d| d == "serde_json"), "serde_json is linked by default: {deps:?}");
}

#[test]
fn the_observer_feature_links_its_json_codec() {
    assert!(normal_dependencies(&["observer"]).iter().any(|d| d == "serde_json"));
}
