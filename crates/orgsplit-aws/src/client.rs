//! Building SDK clients: once per process for the configuration, once per account for
//! credentials, and per (account, region, service) for limits and counts.

use aws_config::BehaviorVersion;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime::client::retries::{RetryPartition, TokenBucket};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::retry::RetryConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

use crate::error::{AwsError, call_error, error_chain};
use crate::limiter::{
    CallCounter, CallKey, LimitedHttpClient, OperationLimiters, RateLimiter, RateTable,
};
use crate::read_only::{ReadOnlyInterceptor, RefusedWrites};
use orgsplit_model::arn::{DEFAULT_PARTITION, partition_of};

#[derive(Debug, Clone)]
pub struct AwsOptions {
    pub profile: Option<String>,
    /// The region for calls that have no other (STS, Organizations); also the default.
    pub region: String,
    /// Overrides every service's endpoint (`--endpoint-url`). `AWS_ENDPOINT_URL` and
    /// `AWS_ENDPOINT_URL_<SERVICE>` are read by the SDK itself.
    pub endpoint_url: Option<String>,
    /// The role assumed in member accounts.
    pub access_role: String,
    pub rates: RateTable,
    /// Attempts per call, first try included.
    pub max_attempts: u32,
    /// How long to keep retrying `AccessDenied` from AssumeRole into an account that joined
    /// the organization less than an hour ago (its access role is still propagating).
    pub account_ready_timeout: Duration,
    /// How long one apply waits for an opt-in Region that is ENABLING before its step ends as
    /// waiting (AWS: "a few minutes for most accounts, but it can take several hours").
    pub region_enable_timeout: Duration,
}

impl AwsOptions {
    pub fn new(region: impl Into<String>) -> Self {
        AwsOptions {
            profile: None,
            region: region.into(),
            endpoint_url: None,
            access_role: "OrganizationAccountAccessRole".into(),
            rates: RateTable::default(),
            max_attempts: 10,
            account_ready_timeout: Duration::from_secs(10 * 60),
            region_enable_timeout: Duration::from_secs(10 * 60),
        }
    }
}

/// The process's AWS access: cheap to clone.
#[derive(Clone)]
pub struct Aws {
    inner: Arc<Inner>,
    /// Set on a read-only copy ([`Aws::read_only`]): its clients refuse every write.
    read_only: Option<Arc<RefusedWrites>>,
}

struct Inner {
    base: SdkConfig,
    opts: AwsOptions,
    http: SharedHttpClient,
    counter: Arc<CallCounter>,
    limiters: Mutex<HashMap<CallKey, Arc<RateLimiter>>>,
    operation_limiters: Mutex<HashMap<CallKey, OperationLimiters>>,
    caller: OnceCell<(String, String)>,
    sessions: Mutex<HashMap<String, AccountSession>>,
}

impl Aws {
    pub async fn load(opts: AwsOptions) -> Result<Aws, AwsError> {
        // The same retries as every client's, also for what the base configuration calls by
        // itself: the STS AssumeRole behind each member-account session.
        // Upload stall protection off, download protection on: the SDK times an upload from
        // when it hands the request to the HTTP client, and orgsplit's limiter (in that client)
        // holds a request until its token comes, which under throttling can be longer than the
        // SDK's 5 s grace period. Such a request then failed with "minimum throughput was
        // specified at 1 B/s, but throughput of 0 B/s was observed" before a byte was sent
        // (the faults suite, PutParameter steps; test
        // `a_call_paced_longer_than_the_sdks_grace_period_is_still_sent`). orgsplit's request
        // bodies are small API documents; a stalled answer is still caught.
        let stalls = StalledStreamProtectionConfig::enabled().upload_enabled(false).build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(opts.region.clone()))
            .retry_config(retry_config(opts.max_attempts))
            .stalled_stream_protection(stalls);
        if let Some(profile) = &opts.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let base = loader.load().await;
        if base.credentials_provider().is_none() {
            return Err(AwsError::Config(
                "no credentials provider: set AWS_PROFILE, --profile or AWS_ACCESS_KEY_ID".into(),
            ));
        }
        let http = https_client_with_env_proxy();
        Ok(Aws {
            inner: Arc::new(Inner {
                base,
                opts,
                http,
                counter: Arc::new(CallCounter::default()),
                limiters: Mutex::new(HashMap::new()),
                operation_limiters: Mutex::new(HashMap::new()),
                caller: OnceCell::new(),
                sessions: Mutex::new(HashMap::new()),
            }),
            read_only: None,
        })
    }

    /// The same access (credentials, sessions, limits, counts), with clients that refuse
    /// every call but reads and record what they refused.
    pub fn read_only(&self) -> (Aws, Arc<RefusedWrites>) {
        let refused = Arc::new(RefusedWrites::default());
        (Aws { inner: self.inner.clone(), read_only: Some(refused.clone()) }, refused)
    }

    pub fn options(&self) -> &AwsOptions {
        &self.inner.opts
    }

    pub fn counter(&self) -> Arc<CallCounter> {
        self.inner.counter.clone()
    }

    /// The caller's (account id, ARN), from `sts:GetCallerIdentity`, once.
    pub async fn caller(&self) -> Result<(String, String), AwsError> {
        self.inner
            .caller
            .get_or_try_init(|| async {
                let sts = self.base_session("unknown", DEFAULT_PARTITION).sts();
                let out = sts.get_caller_identity().send().await.map_err(|e| {
                    call_error("sts", "GetCallerIdentity", "caller", &self.inner.opts.region, e)
                })?;
                Ok((
                    out.account().unwrap_or_default().to_string(),
                    out.arn().unwrap_or_default().to_string(),
                ))
            })
            .await
            .cloned()
    }

    /// The caller's partition, read from its ARN (`arn:aws-cn:sts::…` is `aws-cn`).
    pub async fn partition(&self) -> Result<String, AwsError> {
        let (_, arn) = self.caller().await?;
        Ok(partition_of(&arn).unwrap_or(DEFAULT_PARTITION).to_string())
    }

    fn base_session(&self, account_id: &str, partition: &str) -> AccountSession {
        AccountSession {
            aws: self.clone(),
            account_id: account_id.to_string(),
            partition: partition.to_string(),
            sdk: self.inner.base.clone(),
        }
    }

    /// A session in `account_id`: the caller's own credentials in its own account, else
    /// the access role assumed from the caller (checked now, so a missing role is reported
    /// once, clearly).
    pub async fn session(&self, account_id: &str) -> Result<AccountSession, AwsError> {
        if let Some(s) = self.inner.sessions.lock().expect("sessions lock").get(account_id) {
            // Sessions are shared by the read-only copy; its clients are its own.
            return Ok(AccountSession { aws: self.clone(), ..s.clone() });
        }
        let (caller, _) = self.caller().await?;
        let partition = self.partition().await?;
        let session = if caller == account_id {
            self.base_session(account_id, &partition)
        } else {
            let role_arn =
                format!("arn:{partition}:iam::{account_id}:role/{}", self.inner.opts.access_role);
            let provider = AssumeRoleProvider::builder(role_arn.clone())
                .session_name("orgsplit")
                .configure(&self.inner.base)
                .build()
                .await;
            let provider = CachedCredentials::new(provider);
            self.first_credentials(&provider, account_id, &role_arn).await?;
            let sdk = self
                .inner
                .base
                .to_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build();
            AccountSession { aws: self.clone(), account_id: account_id.to_string(), partition, sdk }
        };
        self.inner
            .sessions
            .lock()
            .expect("sessions lock")
            .insert(account_id.to_string(), session.clone());
        Ok(AccountSession { aws: self.clone(), ..session })
    }

    /// The first credentials of a member-account session. AssumeRole into an account that
    /// joined the organization minutes ago is refused with `AccessDenied` until its access
    /// role has propagated: "you might need to wait a few minutes" (Organizations
    /// CreateAccount, <https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html>).
    /// So `AccessDenied` on an account that joined within [`YOUNG_ACCOUNT`] is retried with
    /// backoff for up to `account_ready_timeout`; on any other account it is final at once
    /// (a wrong `access_role` fails fast).
    async fn first_credentials(
        &self,
        provider: &CachedCredentials,
        account_id: &str,
        role_arn: &str,
    ) -> Result<(), AwsError> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(250);
        let mut young = None;
        loop {
            let err = match provider.provide_credentials().await {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let message = error_chain(&err);
            let denied = message.contains("AccessDenied");
            if denied && young.is_none() {
                young = Some(self.joined_recently(account_id).await);
            }
            if !denied
                || young != Some(true)
                || started.elapsed() >= self.inner.opts.account_ready_timeout
            {
                return Err(AwsError::AssumeRole { role_arn: role_arn.to_string(), message });
            }
            tracing::info!(
                account = account_id,
                waited_ms = started.elapsed().as_millis() as u64,
                "the new account's access role cannot be assumed yet; waiting"
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    /// Whether `account_id` joined the organization within [`YOUNG_ACCOUNT`] (false when the
    /// caller cannot tell: not the management account, or the account is not a member).
    async fn joined_recently(&self, account_id: &str) -> bool {
        let Ok((caller, arn)) = self.caller().await else {
            return false;
        };
        let partition = partition_of(&arn).unwrap_or(DEFAULT_PARTITION);
        let org = self.base_session(&caller, partition).organizations();
        let Ok(out) = org.describe_account().account_id(account_id).send().await else {
            return false;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        out.account()
            .and_then(|a| a.joined_timestamp())
            .is_some_and(|t| now - t.secs() < YOUNG_ACCOUNT.as_secs() as i64)
    }

    /// The per-operation buckets of one (account, region, service), shared by every client
    /// built for it; the operations of one group share one bucket.
    fn operation_limiters(&self, key: &CallKey) -> OperationLimiters {
        let mut map = self.inner.operation_limiters.lock().expect("limiters lock");
        map.entry(key.clone())
            .or_insert_with(|| {
                let mut groups: HashMap<String, Arc<RateLimiter>> = HashMap::new();
                let operations = self.inner.opts.rates.operations_of(&key.service);
                let limiters = operations.into_iter().map(|(op, bucket)| {
                    let limiter = groups
                        .entry(bucket.group)
                        .or_insert_with(|| Arc::new(RateLimiter::new(bucket.rate, bucket.burst)));
                    (op, limiter.clone())
                });
                Arc::new(limiters.collect())
            })
            .clone()
    }

    /// The rate each (account, region, service) bucket runs at now: its ceiling, or lower
    /// after AWS throttled it (adaptive pacing).
    pub fn limiter_rates(&self) -> std::collections::BTreeMap<CallKey, f64> {
        let map = self.inner.limiters.lock().expect("limiters lock");
        map.iter().map(|(key, limiter)| (key.clone(), limiter.rate())).collect()
    }

    fn limiter(&self, key: &CallKey) -> Arc<RateLimiter> {
        let mut map = self.inner.limiters.lock().expect("limiters lock");
        map.entry(key.clone())
            .or_insert_with(|| {
                let (rate, burst) = self.inner.opts.rates.get(&key.service);
                Arc::new(RateLimiter::new(rate, burst))
            })
            .clone()
    }
}

/// An account this young may still refuse its access role (see `first_credentials`).
pub const YOUNG_ACCOUNT: Duration = Duration::from_secs(60 * 60);

/// Standard retries (exponential backoff with full jitter) with `max_attempts` in all.
fn retry_config(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(10))
}

/// Keeps assumed-role credentials until five minutes before they expire, so that the check
/// made when a session is opened is not followed by a second AssumeRole from the first
/// client (the SDK's identity cache lives per client configuration).
#[derive(Debug)]
struct CachedCredentials {
    inner: AssumeRoleProvider,
    cached: tokio::sync::Mutex<Option<aws_credential_types::Credentials>>,
}

impl CachedCredentials {
    fn new(inner: AssumeRoleProvider) -> Self {
        CachedCredentials { inner, cached: tokio::sync::Mutex::new(None) }
    }

    async fn get(&self) -> aws_credential_types::provider::Result {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &aws_credential_types::Credentials| {
            c.expiry().is_none_or(|e| e > std::time::SystemTime::now() + Duration::from_secs(300))
        };
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let c = self.inner.provide_credentials().await?;
        *cached = Some(c.clone());
        Ok(c)
    }
}

impl ProvideCredentials for CachedCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::new(self.get())
    }
}

/// The HTTPS client every AWS client shares, honouring `HTTPS_PROXY`, `HTTP_PROXY` and
/// `NO_PROXY` (either case) as the AWS CLI and the other SDKs do: the smithy client's own
/// `build_https` leaves proxies off
/// (<https://docs.aws.amazon.com/sdkref/latest/guide/feature-proxy.html>).
fn https_client_with_env_proxy() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::{Connector, proxy::ProxyConfig};
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut builder = Connector::builder();
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .proxy_config(ProxyConfig::from_env())
            .build()
    })
}

/// Credentials for one account; hands out clients per region.
#[derive(Clone)]
pub struct AccountSession {
    aws: Aws,
    pub account_id: String,
    /// The caller's partition (`aws`, `aws-cn`, `aws-us-gov`): every ARN built for this
    /// account uses it (an organization lives in one partition).
    pub partition: String,
    sdk: SdkConfig,
}

macro_rules! service_clients {
    ($( $(#[$doc:meta])* $fn:ident => $krate:ident, $service:literal; )*) => {
        impl AccountSession {
            $(
                $(#[$doc])*
                pub fn $fn(&self, region: &str) -> $krate::Client {
                    let conf = $krate::config::Builder::from(&self.sdk)
                        .region(Region::new(region.to_string()))
                        .http_client(self.http_client(region, $service))
                        .retry_partition(self.retry_partition(region, $service))
                        .retry_config(self.retry_config())
                        .retry_classifier(crate::retry::RetryDocumentedCodes);
                    let conf = match &self.aws.read_only {
                        Some(refused) => conf.interceptor(ReadOnlyInterceptor(refused.clone())),
                        None => conf,
                    };
                    $krate::Client::from_conf(conf.build())
                }
            )*
        }
    };
}

/// Services without regions (STS, Organizations, IAM): called in the home region, and limited
/// and counted under it.
macro_rules! global_service_clients {
    ($( $fn:ident => $krate:ident, $service:literal; )*) => {
        impl AccountSession {
            $(
                pub fn $fn(&self) -> $krate::Client {
                    let region = self.home();
                    let conf = $krate::config::Builder::from(&self.sdk)
                        .http_client(self.http_client(&region, $service))
                        .retry_partition(self.retry_partition(&region, $service))
                        .retry_config(self.retry_config())
                        .retry_classifier(crate::retry::RetryDocumentedCodes);
                    let conf = match &self.aws.read_only {
                        Some(refused) => conf.interceptor(ReadOnlyInterceptor(refused.clone())),
                        None => conf,
                    };
                    $krate::Client::from_conf(conf.build())
                }
            )*
        }
    };
}

global_service_clients! {
    sts => aws_sdk_sts, "sts";
    organizations => aws_sdk_organizations, "organizations";
    iam => aws_sdk_iam, "iam";
    budgets => aws_sdk_budgets, "budgets";
    account => aws_sdk_account, "account";
}

service_clients! {
    ssm => aws_sdk_ssm, "ssm";
    secretsmanager => aws_sdk_secretsmanager, "secretsmanager";
    ecs => aws_sdk_ecs, "ecs";
    events => aws_sdk_eventbridge, "events";
    scheduler => aws_sdk_scheduler, "scheduler";
    codepipeline => aws_sdk_codepipeline, "codepipeline";
    codeconnections => aws_sdk_codeconnections, "codeconnections";
    ram => aws_sdk_ram, "ram";
    logs => aws_sdk_cloudwatchlogs, "logs";
    ecr => aws_sdk_ecr, "ecr";
    tagging => aws_sdk_resourcegroupstagging, "tagging";
    cloudformation => aws_sdk_cloudformation, "cloudformation";
    sqs => aws_sdk_sqs, "sqs";
    lambda => aws_sdk_lambda, "lambda";
    dynamodb => aws_sdk_dynamodb, "dynamodb";
    sns => aws_sdk_sns, "sns";
    rds => aws_sdk_rds, "rds";
    stepfunctions => aws_sdk_sfn, "states";
    apigateway => aws_sdk_apigateway, "apigateway";
    apigatewayv2 => aws_sdk_apigatewayv2, "apigateway";
    kinesis => aws_sdk_kinesis, "kinesis";
    elasticache => aws_sdk_elasticache, "elasticache";
    codebuild => aws_sdk_codebuild, "codebuild";
    kms => aws_sdk_kms, "kms";
    cloudtrail => aws_sdk_cloudtrail, "cloudtrail";
}

impl AccountSession {
    fn http_client(&self, region: &str, service: &str) -> LimitedHttpClient {
        let key = CallKey {
            account: self.account_id.clone(),
            region: region.to_string(),
            service: service.to_string(),
        };
        LimitedHttpClient {
            inner: self.aws.inner.http.clone(),
            limiter: self.aws.limiter(&key),
            operations: self.aws.operation_limiters(&key),
            counter: self.aws.inner.counter.clone(),
            key,
        }
    }

    /// One retry partition per (account, region, service), like the rate limiters, and with
    /// no retry quota: each call still has at most `max_attempts`, with backoff.
    ///
    /// The SDK's default partition carries a client-side retry quota (`aws-smithy-runtime`
    /// 1.16's token bucket: 500 tokens, 5 taken by each retry of a throttled call and 10 by a
    /// timeout, 1 given back by each first-try success; "Retry behavior",
    /// https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). Once it is
    /// spent, a throttled call fails with attempts left. Under steady throttling (the faults
    /// suite's 30 %) a partition drains it, and apply steps failed "throttled" after a few
    /// hundred calls. orgsplit paces each service and operation itself and slows down when
    /// throttled (`limiter.rs`), which is what the quota stands in for; the Terraform AWS
    /// provider met the same failures (hashicorp/terraform-provider-aws#34669, "retry quota
    /// exceeded") and the Go SDK added `ratelimit.None` to turn the quota off
    /// (aws/aws-sdk-go-v2#2562). Test: `a_long_run_of_throttled_calls_never_runs_out_of_retries`.
    fn retry_partition(&self, region: &str, service: &str) -> RetryPartition {
        RetryPartition::custom(format!("orgsplit/{}/{region}/{service}", self.account_id))
            .token_bucket(TokenBucket::unlimited())
            .build()
    }

    fn retry_config(&self) -> RetryConfig {
        retry_config(self.aws.inner.opts.max_attempts)
    }

    /// The home region: where global services are called and counted.
    pub fn home_region(&self) -> String {
        self.home()
    }

    fn home(&self) -> String {
        self.aws.inner.opts.region.clone()
    }

    /// S3, path-style when the endpoint is overridden (an emulator has no bucket DNS).
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let path_style = self.aws.inner.opts.endpoint_url.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
            .region(Region::new(region.to_string()))
            .http_client(self.http_client(region, "s3"))
            .retry_partition(self.retry_partition(region, "s3"))
            .retry_config(self.retry_config())
            .retry_classifier(crate::retry::RetryDocumentedCodes)
            .force_path_style(path_style)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}
