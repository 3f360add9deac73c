//! Client-side rate limiting and call counting, below the SDK's retry loop: every attempt,
//! first try or retry, waits for a token and is counted.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A token bucket: `rate` tokens a second, up to `burst`. Waiting callers reserve their
/// token first, so they are served in order and never starve.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> Self {
        let rate = rate.max(0.01);
        let burst = burst.max(1.0);
        RateLimiter { rate, burst, state: Mutex::new((burst, Instant::now())) }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Waits until a token is available, and takes it.
    pub async fn acquire(&self) {
        let wait = {
            let mut state = self.state.lock().expect("limiter lock");
            let now = Instant::now();
            let (tokens, last) = *state;
            let tokens =
                (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst) - 1.0;
            *state = (tokens, now);
            if tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-tokens / self.rate)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Requests a second per service, below AWS's published default quotas, with bursts; plus
/// tighter buckets for single operations whose own quota is lower than their service's
/// (`ssm:PutParameter`), so that orgsplit waits its turn instead of being throttled.
#[derive(Debug, Clone)]
pub struct RateTable {
    rates: BTreeMap<String, (f64, f64)>,
    operations: BTreeMap<String, (f64, f64)>,
    default: (f64, f64),
}

impl Default for RateTable {
    fn default() -> Self {
        // (sustained rate, burst). AWS quotas are per account and region; ours too.
        let rates = [
            ("ssm", (30.0, 40.0)),
            ("secretsmanager", (40.0, 50.0)),
            ("iam", (15.0, 20.0)),
            ("sts", (50.0, 50.0)),
            ("organizations", (8.0, 10.0)),
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
        // AWS's default PutParameter throughput is 3 a second per account and region; the
        // burst is kept below AWS's so that jitter in arrival never empties AWS's bucket.
        let operations = [("ssm:PutParameter", (2.9, 2.0))];
        RateTable {
            rates: rates.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            operations: operations.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
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

    /// The operations of `service` with a bucket of their own: `PutParameter` -> (rate, burst).
    pub fn operations_of(&self, service: &str) -> BTreeMap<String, (f64, f64)> {
        self.operations
            .iter()
            .filter_map(|(k, v)| {
                let (s, op) = k.split_once(':')?;
                (s == service).then(|| (op.to_string(), *v))
            })
            .collect()
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
            if let Some(op) = operation {
                op.acquire().await;
            }
            limiter.acquire().await;
            counter.record(&key);
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
