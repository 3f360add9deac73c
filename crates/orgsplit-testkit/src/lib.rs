//! Test support: start the local AWS emulator (`tests/emulator/run`) on a free port and
//! talk to its admin endpoints. Every integration test starts its own emulator, so tests
//! never share state. A test that cannot start it panics with the reason: no silent skip.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The repository root (this crate lives in `crates/orgsplit-testkit`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// The source account of the demo scenario.
pub const SOURCE_ACCOUNT: &str = "111111111111";
pub const MANAGEMENT_ACCOUNT: &str = "123456789012";

pub struct Emulator {
    child: Child,
    // Held open: the emulator exits when it closes (`--exit-on-stdin-eof`).
    _stdin: ChildStdin,
    pub url: String,
    violations_expected: bool,
}

/// A plain HTTP client for the emulator's admin endpoints and raw calls (blocking: use it on a
/// plain thread, never inside a test's async runtime).
fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("http client")
}

impl Emulator {
    /// Starts an empty emulator.
    pub fn start() -> Emulator {
        Self::start_with(None)
    }

    /// Starts an emulator with a scenario seeded before it reports ready.
    pub fn start_with(scenario: Option<&str>) -> Emulator {
        let run = repo_root().join("tests/emulator/run");
        let mut cmd = Command::new(&run);
        cmd.args(["--port", "0", "--exit-on-stdin-eof"]);
        if let Some(s) = scenario {
            cmd.args(["--scenario", s]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the emulator {}: {e}", run.display()));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let ready = lines
                .by_ref()
                .map_while(Result::ok)
                .find_map(|l| l.strip_prefix("ready ").map(str::to_string));
            let _ = tx.send(ready);
            // Keep draining so the emulator never blocks on a full pipe.
            for _ in lines {}
        });
        // First use on a fresh machine builds the virtualenv: allow for it.
        let url = match rx.recv_timeout(Duration::from_secs(600)) {
            Ok(Some(url)) => url,
            outcome => {
                let _ = child.kill();
                let mut err = String::new();
                let _ = stderr.read_to_string(&mut err);
                panic!("the emulator did not become ready ({outcome:?}); its stderr:\n{err}");
            }
        };
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
        Emulator { child, _stdin: stdin, url, violations_expected: false }
    }

    fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        // On a plain thread: the blocking client runs its own runtime, which must not be
        // created or dropped inside a test's async runtime.
        let url = format!("{}/_emulator/{path}", self.url);
        let (status, text) = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let mut req = http().request(method.clone(), &url);
                    if let Some(b) = &body {
                        req = req.json(b);
                    }
                    let resp =
                        req.send().unwrap_or_else(|e| panic!("emulator {method} {path}: {e}"));
                    let status = resp.status();
                    (status, resp.text().unwrap_or_default())
                })
                .join()
                .expect("admin call thread")
        });
        assert!(status.is_success(), "emulator {method} {path}: HTTP {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Seeds a named scenario into the running emulator; returns the seed report.
    pub fn seed(&self, scenario: &str, params: Value) -> Value {
        self.admin(
            reqwest::Method::POST,
            "seed",
            Some(serde_json::json!({ "scenario": scenario, "params": params })),
        )
    }

    /// The request log: `[{account, region, service, operation, mutating, status}]`.
    pub fn requests(&self) -> Vec<Value> {
        match self.admin(reqwest::Method::GET, "requests", None) {
            Value::Array(items) => items,
            other => panic!("unexpected request log: {other}"),
        }
    }

    pub fn clear_requests(&self) {
        self.admin(reqwest::Method::DELETE, "requests", None);
    }

    /// The mutating requests of the log.
    pub fn mutating_requests(&self) -> Vec<Value> {
        self.requests().into_iter().filter(|r| r["mutating"] == Value::Bool(true)).collect()
    }

    /// Every request the emulator refused as a violation of AWS's request model since it
    /// started (the request log's clearing keeps them).
    pub fn violations(&self) -> Vec<Value> {
        match self.admin(reqwest::Method::GET, "violations", None) {
            Value::Array(items) => items,
            other => panic!("unexpected violations: {other}"),
        }
    }

    /// Changes strictness settings (`POST /_emulator/strict`), for an experiment.
    pub fn set_strict(&self, settings: Value) {
        self.admin(reqwest::Method::POST, "strict", Some(settings));
    }

    /// Lets this emulator end with request-model violations (a test that sends bad requests
    /// on purpose); otherwise dropping it fails the test when there were any.
    pub fn expect_violations(&mut self) {
        self.violations_expected = true;
    }

    pub fn set_faults(&self, faults: Value) {
        self.admin(reqwest::Method::POST, "faults", Some(faults));
    }

    /// The default VPC's subnets and default security group of an account, through the EC2
    /// query API (orgsplit has no EC2 client: services take their network from the config).
    pub fn default_network(&self, account: &str) -> (Vec<String>, String) {
        let (emu, region) = (self, "us-east-1");
        let call = |body: &str| -> String {
            std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        http()
                            .post(&emu.url)
                            .header("content-type", "application/x-www-form-urlencoded")
                            .header("x-moto-account-id", account)
                            .header(
                                "authorization",
                                format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0"),
                            )
                            .body(body.to_string())
                            .send()
                            .and_then(|r| r.text())
                            .expect("EC2 call")
                    })
                    .join()
                    .expect("EC2 thread")
            })
        };
        let values = |xml: &str, tag: &str| -> Vec<String> {
            xml.split(&format!("<{tag}>"))
                .skip(1)
                .filter_map(|s| s.split('<').next())
                .map(str::to_string)
                .collect()
        };
        let subnets = values(&call("Action=DescribeSubnets&Version=2016-11-15"), "subnetId");
        let groups = values(
            &call(
                "Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=group-name&Filter.1.Value.1=default",
            ),
            "groupId",
        );
        assert!(!subnets.is_empty() && !groups.is_empty(), "no default network in {account}");
        (subnets.into_iter().take(2).collect(), groups[0].clone())
    }

    pub fn mark_connection_available(&self, arn: &str) {
        self.admin(
            reqwest::Method::POST,
            "connections/available",
            Some(serde_json::json!({ "arn": arn })),
        );
    }

    /// Queues invocations for a process polling the emulator's stand-in Lambda Runtime API
    /// (`AWS_LAMBDA_RUNTIME_API` = [`Emulator::runtime_api`]); their request ids.
    pub fn lambda_invoke(&self, payloads: &[Value]) -> Vec<String> {
        let got = self.admin(
            reqwest::Method::POST,
            "lambda/invocations",
            Some(Value::Array(payloads.to_vec())),
        );
        got["request_ids"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// Like [`Emulator::lambda_invoke`], with only `deadline_seconds` left to each invocation
    /// (Lambda-Runtime-Deadline-Ms) instead of the function's 900.
    pub fn lambda_invoke_with_deadline(
        &self,
        payloads: &[Value],
        deadline_seconds: f64,
    ) -> Vec<String> {
        let body = serde_json::json!({"payloads": payloads, "deadline_seconds": deadline_seconds});
        let got = self.admin(reqwest::Method::POST, "lambda/invocations", Some(body));
        got["request_ids"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// What the function answered: `{"results": [{"request_id", "state", "body"}], "init_errors"}`.
    pub fn lambda_results(&self) -> Value {
        self.admin(reqwest::Method::GET, "lambda/results", None)
    }

    /// `host:port` of the stand-in Lambda Runtime API.
    pub fn runtime_api(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// Environment for a process (or SDK) that talks to this emulator: endpoint, dummy
    /// credentials, and no profile files of the machine.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_SESSION_TOKEN", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Sets this process's environment to [`Emulator::env`] (for in-process SDK clients).
    /// Tests run one per process under nextest; under `cargo test` they share a process,
    /// so every test sets the same dummy values and its own endpoint through options.
    pub fn export_env(&self) {
        for (k, v) in self.env() {
            if k != "AWS_ENDPOINT_URL" {
                // SAFETY-free: std::env::set_var is safe in edition 2021 crates only; this
                // crate is 2024, so go through a helper that documents the constraint.
                set_env(k, &v);
            }
        }
    }
}

#[allow(unsafe_code)]
fn set_env(key: &str, value: &str) {
    // SAFETY: called at test start-up, before the test spawns threads that read the
    // environment; every test sets the same values.
    unsafe { std::env::set_var(key, value) };
}

impl Drop for Emulator {
    /// Architecture Invariant: no test ends with a request AWS would refuse as malformed.
    /// Every emulator a test starts checks, when it is dropped, that it recorded no
    /// request-model violation (unless the test said it expects some).
    fn drop(&mut self) {
        let running = matches!(self.child.try_wait(), Ok(None));
        let violations = if self.violations_expected || std::thread::panicking() || !running {
            vec![]
        } else {
            self.violations()
        };
        let _ = self.child.kill();
        let _ = self.child.wait();
        assert!(
            violations.is_empty(),
            "the emulator refused {} request(s) as violations of AWS's request model: {}",
            violations.len(),
            serde_json::to_string(&violations).unwrap_or_default()
        );
    }
}

/// A runtime for the async part of a test. The emulator's admin calls are blocking HTTP: a
/// test makes them outside `block_on` (or they run on a thread of their own).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A scenario file's JSON (`tests/emulator/scenarios/NAME.json`).
pub fn scenario(name: &str) -> Value {
    let path = repo_root().join(format!("tests/emulator/scenarios/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Drift made by hand on a SERVICE_MANAGED StackSet: its description edited and the
/// account's instance in `region` deleted (by OU target, as AWS requires), with its stack.
pub async fn drift_stackset_by_hand(
    cfn: &aws_sdk_cloudformation::Client,
    stackset: &str,
    ou_id: &str,
    account: &str,
    region: &str,
) {
    use aws_sdk_cloudformation::types::{AccountFilterType, DeploymentTargets};
    cfn.update_stack_set()
        .stack_set_name(stackset)
        .description("edited by hand")
        .use_previous_template(true)
        .send()
        .await
        .expect("UpdateStackSet by hand");
    let targets = DeploymentTargets::builder()
        .organizational_unit_ids(ou_id)
        .accounts(account)
        .account_filter_type(AccountFilterType::Intersection)
        .build();
    cfn.delete_stack_instances()
        .stack_set_name(stackset)
        .deployment_targets(targets)
        .regions(region)
        .retain_stacks(false)
        .send()
        .await
        .expect("DeleteStackInstances by hand");
}

/// Creates an account in the caller's organization and returns its id once the request has
/// SUCCEEDED. CreateAccount is asynchronous on AWS (and in the strict emulator): it answers
/// IN_PROGRESS without an account id, so a test polls DescribeCreateAccountStatus as any client
/// must.
pub async fn create_account(
    org: &aws_sdk_organizations::Client,
    name: &str,
    email: &str,
) -> String {
    use aws_sdk_organizations::types::CreateAccountState;
    let started = org
        .create_account()
        .account_name(name)
        .email(email)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateAccount {name}: {e:?}"));
    let request = started
        .create_account_status()
        .and_then(|s| s.id())
        .expect("CreateAccount returned a request id")
        .to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = org
            .describe_create_account_status()
            .create_account_request_id(&request)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeCreateAccountStatus {name}: {e:?}"));
        let status = out.create_account_status().expect("a status");
        match status.state() {
            Some(CreateAccountState::Succeeded) => {
                return status.account_id().expect("an account id").to_string();
            }
            Some(CreateAccountState::InProgress) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "account {name} still IN_PROGRESS after 60 s"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            other => panic!("creating account {name}: {other:?} {status:?}"),
        }
    }
}
