//! `budget`: the account's monthly cost budget with an e-mail alert, through the Budgets
//! API in the account itself (a template's `AWS::Budgets::Budget` cannot be read back).

use crate::context::{Outcome, StepContext, StepError};
use aws_sdk_budgets::Client;
use aws_sdk_budgets::types::{
    Budget, BudgetType, ComparisonOperator, Notification, NotificationType,
    NotificationWithSubscribers, Spend, Subscriber, SubscriptionType, ThresholdType, TimeUnit,
};
use orgsplit_aws::Found;
use orgsplit_aws::{call_error, every_page};
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::Budget as BudgetInputs;

/// The budget the step wants.
struct Wanted<'a> {
    account: &'a str,
    region: &'a str,
    name: &'a str,
    amount: f64,
    amount_text: &'a str,
    email: &'a str,
    threshold: f64,
}

fn wanted<'a>(cx: &'a StepContext, inputs: &'a BudgetInputs) -> Result<Wanted<'a>, StepError> {
    let amount_text = inputs.amount_usd.as_str();
    let amount =
        amount_text.parse::<f64>().ok().filter(|a| a.is_finite() && *a > 0.0).ok_or_else(|| {
            StepError::Input {
                field: "amount_usd".into(),
                message: format!("{amount_text:?} is not a positive amount"),
            }
        })?;
    if inputs.threshold_percent == 0 {
        return Err(StepError::Input {
            field: "threshold_percent".into(),
            message: "is 0: an alert needs a positive threshold".into(),
        });
    }
    Ok(Wanted {
        account: &cx.step.account,
        region: cx.region(),
        name: &inputs.name,
        amount,
        amount_text,
        email: &inputs.email,
        threshold: f64::from(inputs.threshold_percent),
    })
}

/// Numbers from AWS come back formatted their own way ("1000.0").
fn same_number(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

fn build_error(what: &str, e: impl std::fmt::Display) -> StepError {
    StepError::Failed(format!("cannot build the {what}: {e}"))
}

fn limit(w: &Wanted) -> Result<Spend, StepError> {
    Spend::builder()
        .amount(w.amount_text)
        .unit("USD")
        .build()
        .map_err(|e| build_error("budget limit", e))
}

fn notification(w: &Wanted) -> Result<Notification, StepError> {
    Notification::builder()
        .notification_type(NotificationType::Actual)
        .comparison_operator(ComparisonOperator::GreaterThan)
        .threshold(w.threshold)
        .threshold_type(ThresholdType::Percentage)
        .build()
        .map_err(|e| build_error("notification", e))
}

fn subscriber(w: &Wanted) -> Result<Subscriber, StepError> {
    Subscriber::builder()
        .subscription_type(SubscriptionType::Email)
        .address(w.email)
        .build()
        .map_err(|e| build_error("subscriber", e))
}

/// The alert orgsplit manages: actual spend above `threshold` percent of the limit.
fn is_ours(n: &Notification, w: &Wanted) -> bool {
    n.notification_type() == &NotificationType::Actual
        && n.comparison_operator() == &ComparisonOperator::GreaterThan
        && n.threshold_type().unwrap_or(&ThresholdType::Percentage) == &ThresholdType::Percentage
        && same_number(n.threshold(), w.threshold)
}

fn amount_matches(b: &Budget, w: &Wanted) -> bool {
    b.budget_limit().is_some_and(|l| {
        l.unit() == "USD" && l.amount().parse::<f64>().is_ok_and(|a| same_number(a, w.amount))
    })
}

/// Creates the budget (with its alert and subscriber) or brings its limit and alert in
/// line; reads all of it back.
pub async fn run(cx: &StepContext, inputs: &BudgetInputs) -> Result<Outcome, StepError> {
    let w = wanted(cx, inputs)?;
    let client = cx.session().await?.budgets();
    let changed = match describe(&client, &w).await? {
        None => {
            create(&client, &w).await?;
            true
        }
        Some(live) => {
            check_kind(&live, &w)?;
            let mut changed = false;
            if !amount_matches(&live, &w) {
                update_limit(&client, &w, &live).await?;
                changed = true;
            }
            changed | ensure_alert(&client, &w).await?
        }
    };
    verify(&client, &w).await?;
    Ok(Outcome::changed(changed).with_output(OutputKey::BudgetName, w.name))
}

/// A budget of the same name that counts something else is not orgsplit's to rewrite.
fn check_kind(live: &Budget, w: &Wanted) -> Result<(), StepError> {
    if live.budget_type() != &BudgetType::Cost || live.time_unit() != &TimeUnit::Monthly {
        return Err(StepError::Failed(format!(
            "budget {} in account {} exists as a {} {} budget, not a MONTHLY COST one: rename or delete it",
            w.name,
            w.account,
            live.time_unit().as_str(),
            live.budget_type().as_str()
        )));
    }
    Ok(())
}

async fn describe(client: &Client, w: &Wanted<'_>) -> Result<Option<Budget>, StepError> {
    let request = client.describe_budget().account_id(w.account).budget_name(w.name);
    let described = request
        .send()
        .await
        .map_err(|e| call_error("budgets", "DescribeBudget", w.account, w.region, e));
    Ok(described.found()?.and_then(|out| out.budget().cloned()))
}

async fn create(client: &Client, w: &Wanted<'_>) -> Result<(), StepError> {
    let budget = Budget::builder()
        .budget_name(w.name)
        .budget_limit(limit(w)?)
        .time_unit(TimeUnit::Monthly)
        .budget_type(BudgetType::Cost)
        .build()
        .map_err(|e| build_error("budget", e))?;
    let alert = NotificationWithSubscribers::builder()
        .notification(notification(w)?)
        .subscribers(subscriber(w)?)
        .build()
        .map_err(|e| build_error("notification", e))?;
    client
        .create_budget()
        .account_id(w.account)
        .budget(budget)
        .notifications_with_subscribers(alert)
        .send()
        .await
        .map_err(|e| call_error("budgets", "CreateBudget", w.account, w.region, e))?;
    Ok(())
}

/// UpdateBudget replaces the whole budget: what else it has is sent back as it was read.
/// CostTypes and CostFilters are deprecated, but a budget that has them must keep them.
#[allow(deprecated)]
fn with_new_limit(live: &Budget, w: &Wanted) -> Result<Budget, StepError> {
    let metrics = (!live.metrics().is_empty()).then(|| live.metrics().to_vec());
    Budget::builder()
        .budget_name(w.name)
        .budget_limit(limit(w)?)
        .time_unit(live.time_unit().clone())
        .budget_type(live.budget_type().clone())
        .set_cost_types(live.cost_types().cloned())
        .set_cost_filters(live.cost_filters().cloned())
        .set_time_period(live.time_period().cloned())
        .set_auto_adjust_data(live.auto_adjust_data().cloned())
        .set_filter_expression(live.filter_expression().cloned())
        .set_metrics(metrics)
        .build()
        .map_err(|e| build_error("budget", e))
}

async fn update_limit(client: &Client, w: &Wanted<'_>, live: &Budget) -> Result<(), StepError> {
    let budget = with_new_limit(live, w)?;
    client
        .update_budget()
        .account_id(w.account)
        .new_budget(budget)
        .send()
        .await
        .map_err(|e| call_error("budgets", "UpdateBudget", w.account, w.region, e))?;
    Ok(())
}

async fn notifications(client: &Client, w: &Wanted<'_>) -> Result<Vec<Notification>, StepError> {
    let request =
        client.describe_notifications_for_budget().account_id(w.account).budget_name(w.name);
    let op = "DescribeNotificationsForBudget";
    let error_of = |e| call_error("budgets", op, w.account, w.region, e);
    Ok(every_page!(request, notifications).map_err(error_of)?)
}

async fn has_subscriber(
    client: &Client,
    w: &Wanted<'_>,
    n: &Notification,
) -> Result<bool, StepError> {
    let request = client
        .describe_subscribers_for_notification()
        .account_id(w.account)
        .budget_name(w.name)
        .notification(n.clone());
    let op = "DescribeSubscribersForNotification";
    let error_of = |e| call_error("budgets", op, w.account, w.region, e);
    let subscribers = every_page!(request, subscribers).map_err(error_of)?;
    Ok(subscribers.iter().any(|s| {
        s.subscription_type() == &SubscriptionType::Email
            && s.address().eq_ignore_ascii_case(w.email)
    }))
}

/// The alert and its e-mail subscriber, each created when missing. Other notifications
/// (a person's own alerts) are left alone.
async fn ensure_alert(client: &Client, w: &Wanted<'_>) -> Result<bool, StepError> {
    let existing = notifications(client, w).await?;
    let Some(ours) = existing.iter().find(|n| is_ours(n, w)) else {
        client
            .create_notification()
            .account_id(w.account)
            .budget_name(w.name)
            .notification(notification(w)?)
            .subscribers(subscriber(w)?)
            .send()
            .await
            .map_err(|e| call_error("budgets", "CreateNotification", w.account, w.region, e))?;
        return Ok(true);
    };
    if has_subscriber(client, w, ours).await? {
        return Ok(false);
    }
    client
        .create_subscriber()
        .account_id(w.account)
        .budget_name(w.name)
        .notification(ours.clone())
        .subscriber(subscriber(w)?)
        .send()
        .await
        .map_err(|e| call_error("budgets", "CreateSubscriber", w.account, w.region, e))?;
    Ok(true)
}

/// Reads the budget, its alert and the alert's subscriber back.
async fn verify(client: &Client, w: &Wanted<'_>) -> Result<(), StepError> {
    let fail = |what: String| {
        StepError::Verify(format!("budget {} in account {}: {what}", w.name, w.account))
    };
    let live = describe(client, w)
        .await?
        .ok_or_else(|| fail("does not exist after it was written".into()))?;
    if !amount_matches(&live, w) {
        let got = live
            .budget_limit()
            .map(|l| format!("{} {}", l.amount(), l.unit()))
            .unwrap_or_else(|| "none".into());
        return Err(fail(format!("limit is {got}, expected {} USD", w.amount_text)));
    }
    let existing = notifications(client, w).await?;
    let ours = existing.iter().find(|n| is_ours(n, w)).ok_or_else(|| {
        fail(format!("no ACTUAL > {}% notification after it was written", w.threshold))
    })?;
    if !has_subscriber(client, w, ours).await? {
        return Err(fail(format!("the alert has no e-mail subscriber {}", w.email)));
    }
    Ok(())
}
