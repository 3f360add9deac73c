//! Client-side rate limiting and call counting, below the SDK's retry loop: every attempt,
//! first try or retry, waits for a token and is counted.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket: `rate` tokens a second, up to `burst`. Waiting callers reserve their
/// token first, so they are served in order and never starve.
///
/// Adaptive: the configured rate is a ceiling. A throttled response halves the rate (down to
/// a sixteenth of the ceiling) and empties the bucket; then the rate recovers by
/// [`RECOVERY_PER_SECOND`] of the ceiling each second without throttling. So a quiet account is
/// read at the ceiling, and one that AWS throttles (other callers share its quota) is read
/// slower, without retry storms. Throttles that arrive within [`THROTTLE_WINDOW`] of a
/// decrease are answers to requests sent before it, and count once.
#[derive(Debug)]
pub struct RateLimiter {
    ceiling: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    rate: f64,
    decreased_at: Option<Instant>,
}

/// How fast a throttled limiter climbs back: this share of its ceiling a second.
pub const RECOVERY_PER_SECOND: f64 = 0.05;
/// The lowest a limiter slows to, as a share of its ceiling.
const FLOOR_SHARE: f64 = 1.0 / 16.0;
const THROTTLE_WINDOW: Duration = Duration::from_millis(500);

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> Self {
        let rate = rate.max(0.01);
        let burst = burst.max(1.0);
        let bucket = Bucket { tokens: burst, last: Instant::now(), rate, decreased_at: None };
        RateLimiter { ceiling: rate, burst, state: Mutex::new(bucket) }
    }

    /// The rate now (below the ceiling after throttling).
    pub fn rate(&self) -> f64 {
        self.state.lock().expect("limiter lock").rate
    }

    /// Refills the bucket and recovers the rate up to `now`.
    fn settle(&self, b: &mut Bucket, now: Instant) {
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * b.rate).min(self.burst);
        b.rate = (b.rate + elapsed * self.ceiling * RECOVERY_PER_SECOND).min(self.ceiling);
        b.last = now;
    }

    /// Waits until a token is available, and takes it.
    pub async fn acquire(&self) {
        let wait = {
            let mut b = self.state.lock().expect("limiter lock");
            self.settle(&mut b, Instant::now());
            b.tokens -= 1.0;
            if b.tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-b.tokens / b.rate)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// AWS throttled a request: slow down.
    pub fn throttled(&self) {
        let mut b = self.state.lock().expect("limiter lock");
        let now = Instant::now();
        if b.decreased_at.is_some_and(|at| now.duration_since(at) < THROTTLE_WINDOW) {
            return;
        }
        self.settle(&mut b, now);
        b.decreased_at = Some(now);
        b.rate = (b.rate / 2.0).max(self.ceiling * FLOOR_SHARE);
        b.tokens = b.tokens.min(0.0);
        tracing::debug!(rate = b.rate, "throttled: slowing down");
    }
}

/// The error codes AWS throttles with, as the AWS SDK for Rust classifies them
/// (aws-runtime, `retries::classifiers::THROTTLING_ERRORS`).
const THROTTLING_ERRORS: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Whether an error response says "slow down". JSON protocols name the error in the
/// `x-amzn-ErrorType` header (`ThrottlingException:http://…` at times); the XML ones (IAM,
/// STS, S3) only in the body's `<Code>`, which is read here for a 4xx or 5xx XML answer only
/// (error bodies are small). HTTP 429 is throttling whatever the body says.
fn is_throttling(status: u16, error_type: Option<&str>, xml_body: Option<&[u8]>) -> bool {
    if status == 429 {
        return true;
    }
    if let Some(t) = error_type {
        let code = t.split(':').next().unwrap_or(t).trim();
        return THROTTLING_ERRORS.contains(&code);
    }
    let Some(body) = xml_body else { return false };
    let text = String::from_utf8_lossy(body);
    text.split("<Code>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</Code>"))
        .any(|(code, _)| THROTTLING_ERRORS.contains(&code.trim()))
}

/// Requests a second per service, below AWS's published default quotas, with bursts; plus
/// buckets for the operations AWS meters apart from their service: ECS's API action
/// categories (one bucket each, shared by the category's actions) and `ssm:PutParameter`. An
/// operation with a bucket waits for that bucket instead of its service's, so that orgsplit
/// paces each call by the quota AWS counts it against and waits its turn instead of being
/// throttled.
#[derive(Debug, Clone)]
pub struct RateTable {
    rates: BTreeMap<String, (f64, f64)>,
    /// `"service:Operation"` -> its bucket.
    operations: BTreeMap<String, OperationBucket>,
    default: (f64, f64),
}

/// The bucket of an operation metered apart from its service: the operations of one group
/// share one bucket per (account, region).
#[derive(Debug, Clone, PartialEq)]
pub struct OperationBucket {
    pub group: String,
    pub rate: f64,
    pub burst: f64,
}

/// Amazon ECS's API action categories, as "Request throttling for the Amazon ECS API"
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html, "Request
/// Token Bucket Sizes and Refill Rates", read 2026-12-04) lists them: (category, AWS's bucket
/// capacity, AWS's refill rate a second, actions). Each category is one bucket per account and
/// Region, shared by its actions.
const ECS_CATEGORIES: &[(&str, f64, f64, &[&str])] = &[
    (
        "cluster-modify",
        20.0,
        1.0,
        &[
            "CreateCluster",
            "DeleteCluster",
            "PutClusterCapacityProviders",
            "UpdateCluster",
            "UpdateClusterSettings",
        ],
    ),
    ("cluster-read", 50.0, 20.0, &["DescribeClusters", "ListClusters"]),
    ("task-definition-modify", 20.0, 1.0, &["DeregisterTaskDefinition", "RegisterTaskDefinition"]),
    (
        "task-definition-read",
        50.0,
        20.0,
        &["DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies"],
    ),
    ("task-definition-delete", 5.0, 1.0, &["DeleteTaskDefinitions"]),
    (
        "capacity-provider-modify",
        10.0,
        1.0,
        &["CreateCapacityProvider", "DeleteCapacityProvider", "UpdateCapacityProvider"],
    ),
    ("capacity-provider-read", 50.0, 20.0, &["DescribeCapacityProviders"]),
    ("tag-modify", 20.0, 10.0, &["TagResource", "UntagResource"]),
    ("tag-read", 50.0, 20.0, &["ListTagsForResource"]),
    (
        "setting-modify",
        10.0,
        1.0,
        &["DeleteAccountSetting", "PutAccountSetting", "PutAccountSettingDefault"],
    ),
    ("setting-read", 50.0, 20.0, &["ListAccountSettings"]),
    (
        "cluster-resource-modify",
        100.0,
        40.0,
        &[
            "DeleteAttributes",
            "DeregisterContainerInstance",
            "ExecuteCommand",
            "PutAttributes",
            "RunTask",
            "StartTask",
            "StopTask",
            "UpdateContainerAgent",
            "UpdateContainerInstancesStates",
        ],
    ),
    (
        "cluster-resource-read",
        100.0,
        20.0,
        &[
            "DescribeContainerInstances",
            "DescribeTasks",
            "ListAttributes",
            "ListContainerInstances",
            "ListTasks",
        ],
    ),
    ("service-modify", 50.0, 5.0, &["CreateService", "DeleteService", "UpdateService"]),
    ("service-read", 100.0, 20.0, &["DescribeServices", "ListServices"]),
    ("service-deployment", 50.0, 20.0, &["DescribeServiceDeployments", "ListServiceDeployments"]),
    ("service-revision", 50.0, 20.0, &["DescribeServiceRevisions"]),
    ("task-protection", 200.0, 80.0, &["UpdateTaskProtection", "GetTaskProtection"]),
    ("service-namespace-read", 10.0, 1.0, &["ListServicesByNamespace"]),
];

/// orgsplit's share of a documented bucket: AWS's refill rate, and four fifths of its
/// capacity. The capacity left over absorbs the jitter of arrival (requests sent at the
/// refill rate can reach AWS closer together than they were sent); the rate cannot be
/// above AWS's without emptying AWS's bucket in the end.
const BURST_SHARE: f64 = 0.8;

impl Default for RateTable {
    fn default() -> Self {
        // (sustained rate, burst). AWS quotas are per account and region; ours too.
        let rates = [
            ("ssm", (30.0, 40.0)),
            ("secretsmanager", (40.0, 50.0)),
            ("iam", (15.0, 20.0)),
            ("sts", (50.0, 50.0)),
            ("organizations", (8.0, 10.0)),
            // ECS actions outside the categories below.
            ("ecs", (20.0, 40.0)),
            ("events", (20.0, 40.0)),
            ("scheduler", (20.0, 40.0)),
            ("codepipeline", (15.0, 20.0)),
            ("codeconnections", (5.0, 10.0)),
            ("ram", (5.0, 10.0)),
            ("s3", (100.0, 200.0)),
            ("logs", (8.0, 10.0)),
            ("ecr", (20.0, 40.0)),
            ("tagging", (8.0, 10.0)),
            ("cloudformation", (8.0, 10.0)),
            ("budgets", (5.0, 5.0)),
            ("sqs", (100.0, 200.0)),
            ("lambda", (10.0, 10.0)),
        ];
        let mut operations = BTreeMap::new();
        // AWS's default PutParameter throughput is 3 a second per account and region; the
        // burst is kept below AWS's so that jitter in arrival never empties AWS's bucket.
        let put = OperationBucket { group: "ssm:PutParameter".into(), rate: 2.9, burst: 2.0 };
        operations.insert("ssm:PutParameter".to_string(), put);
        for (category, capacity, refill, actions) in ECS_CATEGORIES {
            let bucket = OperationBucket {
                group: format!("ecs:{category}"),
                rate: *refill,
                burst: (capacity * BURST_SHARE).floor(),
            };
            for action in *actions {
                operations.insert(format!("ecs:{action}"), bucket.clone());
            }
        }
        RateTable {
            rates: rates.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            operations,
            default: (10.0, 10.0),
        }
    }
}

impl RateTable {
    pub fn get(&self, service: &str) -> (f64, f64) {
        self.rates.get(service).copied().unwrap_or(self.default)
    }

    pub fn set(&mut self, service: &str, rate: f64, burst: f64) {
        self.rates.insert(service.to_string(), (rate, burst));
    }

    /// The operations of `service` metered apart from it: `PutParameter` -> its bucket.
    pub fn operations_of(&self, service: &str) -> BTreeMap<String, OperationBucket> {
        self.operations
            .iter()
            .filter_map(|(k, v)| {
                let (s, op) = k.split_once(':')?;
                (s == service).then(|| (op.to_string(), v.clone()))
            })
            .collect()
    }

    /// The defaults with the config's `[limits]` over them (or no limit, when turned off).
    pub fn from_limits(limits: &orgsplit_model::config::Limits) -> Self {
        if !limits.enabled {
            return RateTable::unlimited();
        }
        let mut table = RateTable::default();
        for (key, limit) in &limits.rates {
            if key.contains(':') {
                // A bucket of the operation's own, out of its category.
                let bucket =
                    OperationBucket { group: key.clone(), rate: limit.rate, burst: limit.burst };
                table.operations.insert(key.clone(), bucket);
            } else {
                table.rates.insert(key.clone(), (limit.rate, limit.burst));
            }
        }
        table
    }

    /// The services with a rate of their own.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.rates.keys().map(String::as_str)
    }

    /// No limit at all (tests that measure the emulator's own quotas).
    pub fn unlimited() -> Self {
        RateTable { rates: BTreeMap::new(), operations: BTreeMap::new(), default: (1.0e9, 1.0e9) }
    }
}

/// Operation name -> its own bucket, for one (account, region, service).
pub type OperationLimiters = Arc<BTreeMap<String, Arc<RateLimiter>>>;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallKey {
    pub account: String,
    pub region: String,
    pub service: String,
}

/// Counts every HTTP attempt per (account, region, service).
#[derive(Debug, Default)]
pub struct CallCounter {
    counts: Mutex<BTreeMap<CallKey, u64>>,
}

impl CallCounter {
    fn record(&self, key: &CallKey) {
        *self.counts.lock().expect("counter lock").entry(key.clone()).or_default() += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<CallKey, u64> {
        self.counts.lock().expect("counter lock").clone()
    }

    pub fn total(&self) -> u64 {
        self.counts.lock().expect("counter lock").values().sum()
    }
}

/// Wraps the real HTTP client: wait for the bucket, count, then send.
#[derive(Debug, Clone)]
pub(crate) struct LimitedHttpClient {
    pub inner: SharedHttpClient,
    pub limiter: Arc<RateLimiter>,
    /// Operation name -> its own bucket (JSON protocols, named by `X-Amz-Target`).
    pub operations: OperationLimiters,
    pub counter: Arc<CallCounter>,
    pub key: CallKey,
}

impl HttpClient for LimitedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(LimitedConnector {
            inner: self.inner.http_connector(settings, components),
            limiter: self.limiter.clone(),
            operations: self.operations.clone(),
            counter: self.counter.clone(),
            key: self.key.clone(),
        })
    }
}

#[derive(Debug)]
struct LimitedConnector {
    inner: SharedHttpConnector,
    limiter: Arc<RateLimiter>,
    operations: OperationLimiters,
    counter: Arc<CallCounter>,
    key: CallKey,
}

impl HttpConnector for LimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let limiter = self.limiter.clone();
        let counter = self.counter.clone();
        let key = self.key.clone();
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit_once('.'))
            .and_then(|(_, op)| self.operations.get(op).cloned());
        HttpConnectorFuture::new(async move {
            // An operation metered apart waits for its own bucket only.
            let bucket = operation.as_ref().unwrap_or(&limiter);
            bucket.acquire().await;
            counter.record(&key);
            let mut response = inner.call(request).await?;
            let status = response.status().as_u16();
            if status >= 400 {
                let error_type = response.headers().get("x-amzn-errortype").map(str::to_string);
                let xml = error_type.is_none()
                    && response.headers().get("content-type").is_some_and(|c| c.contains("xml"));
                let body = if xml {
                    let taken = response.take_body();
                    let bytes = ByteStream::new(taken)
                        .collect()
                        .await
                        .map_err(|e| ConnectorError::io(e.into()))?
                        .into_bytes();
                    *response.body_mut() = SdkBody::from(bytes.clone());
                    Some(bytes)
                } else {
                    None
                };
                if is_throttling(status, error_type.as_deref(), body.as_deref()) {
                    bucket.throttled();
                }
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_table_limits_every_service_a_config_may_name() {
        let table = RateTable::default();
        let services: Vec<&str> = table.services().collect();
        assert_eq!(services, orgsplit_model::config::LIMITED_SERVICES);
    }

    #[test]
    fn ecs_actions_are_paced_by_their_documented_category() {
        let ecs = RateTable::default().operations_of("ecs");
        let reads = &ecs["DescribeTaskDefinition"];
        assert_eq!((reads.rate, reads.burst), (20.0, 40.0), "AWS: 50, refilled at 20");
        assert_eq!(ecs["ListTaskDefinitionFamilies"], *reads, "one category, one bucket");
        assert_eq!(ecs["ListTaskDefinitions"], *reads);
        let services = &ecs["DescribeServices"];
        assert_eq!((services.rate, services.burst), (20.0, 80.0), "AWS: 100, refilled at 20");
        assert_ne!(services.group, reads.group);
        let register = &ecs["RegisterTaskDefinition"];
        assert_eq!((register.rate, register.burst), (1.0, 16.0), "AWS: 20, refilled at 1");
        assert!(!ecs.contains_key("PutParameter"), "{ecs:?}");
        let ssm = RateTable::default().operations_of("ssm");
        assert_eq!(ssm.keys().collect::<Vec<_>>(), ["PutParameter"]);
    }

    #[test]
    fn a_configured_operation_gets_a_bucket_of_its_own_out_of_its_category() {
        use orgsplit_model::config::{Limit, Limits};
        let rates = BTreeMap::from([
            ("ecs:DescribeTaskDefinition".to_string(), Limit { rate: 5.0, burst: 5.0 }),
            ("ecs".to_string(), Limit { rate: 2.0, burst: 2.0 }),
        ]);
        let limits = Limits { enabled: true, rates };
        let table = RateTable::from_limits(&limits);
        let ecs = table.operations_of("ecs");
        let own = &ecs["DescribeTaskDefinition"];
        assert_eq!(
            (own.group.as_str(), own.rate, own.burst),
            ("ecs:DescribeTaskDefinition", 5.0, 5.0)
        );
        assert_eq!(
            ecs["ListTaskDefinitions"].group, "ecs:task-definition-read",
            "the rest keep theirs"
        );
        assert_eq!(
            table.get("ecs"),
            (2.0, 2.0),
            "the service's bucket, for actions in no category"
        );
    }

    #[test]
    fn throttling_is_read_from_the_status_the_error_type_or_the_xml_code() {
        assert!(is_throttling(429, None, None));
        assert!(is_throttling(400, Some("ThrottlingException"), None));
        assert!(is_throttling(400, Some("ThrottlingException:http://internal.amazon.com/"), None));
        assert!(!is_throttling(400, Some("ParameterNotFound"), None));
        let iam = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code></Error></ErrorResponse>";
        assert!(is_throttling(400, None, Some(iam)));
        let s3 = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
        assert!(is_throttling(503, None, Some(s3)));
        let denied = b"<Error><Code>AccessDenied</Code></Error>";
        assert!(!is_throttling(403, None, Some(denied)));
        assert!(!is_throttling(503, None, None), "a 503 that does not say so is not throttling");
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_limiter_halves_its_rate_once_per_burst_of_throttles_then_recovers() {
        let limiter = RateLimiter::new(20.0, 1.0);
        limiter.throttled();
        limiter.throttled();
        assert_eq!(limiter.rate(), 10.0, "two throttles at once count once");
        // Each second without throttling gives back 5 % of the ceiling: 1 a second here.
        tokio::time::advance(Duration::from_secs(1)).await;
        limiter.throttled();
        assert_eq!(limiter.rate(), 5.5);
        for _ in 0..5 {
            tokio::time::advance(Duration::from_secs(1)).await;
            limiter.throttled();
        }
        assert_eq!(limiter.rate(), 20.0 / 16.0, "never below a sixteenth of the ceiling");
        tokio::time::advance(Duration::from_secs(6)).await;
        limiter.acquire().await;
        assert_eq!(limiter.rate(), 7.25);
        tokio::time::advance(Duration::from_secs(60)).await;
        limiter.acquire().await;
        assert_eq!(limiter.rate(), 20.0, "back at the ceiling, not above");
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_allows_its_burst_then_its_rate() {
        let limiter = RateLimiter::new(10.0, 5.0);
        let start = Instant::now();
        for _ in 0..25 {
            limiter.acquire().await;
        }
        // 5 at once, then 20 more at 10 a second.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((1.95..2.1).contains(&elapsed), "{elapsed}");
    }
}
