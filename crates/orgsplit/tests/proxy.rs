//! Proxies from the environment are honoured, as the AWS CLI and the other SDKs do:
//! `HTTP_PROXY`/`HTTPS_PROXY` carry every AWS call, `NO_PROXY` exempts hosts.

mod common;
use common::{demo_world, output};

#[test]
fn calls_go_through_the_environment_s_proxy_unless_no_proxy_exempts_the_host() {
    let (emu, dir) = demo_world();
    // A port nothing listens on: a proxy there refuses every connection.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let proxy = format!("http://{dead}");
    let run = |no_proxy: &str| {
        let mut cmd = common::command(&emu, dir.path());
        cmd.args(["inventory", "--out", "inventory.json"]);
        for key in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
            cmd.env(key, &proxy);
        }
        cmd.env("NO_PROXY", no_proxy).env("no_proxy", no_proxy);
        output(&mut cmd)
    };
    emu.clear_requests();
    let through = run("");
    assert_ne!(through.code, Some(0), "the dead proxy was not used: {}", through.stdout);
    assert!(emu.requests().is_empty(), "a request bypassed the proxy: {:?}", emu.requests());
    let exempt = run("127.0.0.1");
    assert_eq!(exempt.code, Some(0), "{}", exempt.stderr);
    assert!(!emu.requests().is_empty());
}
