"""Budgets operations moto 5.2.5 does not implement (they answer HTTP 500 with an HTML page):
UpdateBudget, DescribeSubscribersForNotification, CreateSubscriber, DeleteSubscriber.
Served from moto's own budgets backend, in the same process, so they see what moto's
CreateBudget/CreateNotification stored.

https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_UpdateBudget.html
https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_DescribeSubscribersForNotification.html
https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_CreateSubscriber.html
"""
from __future__ import annotations

import json
import uuid

from .protocol import json_error

OPERATIONS = ("UpdateBudget", "DescribeSubscribersForNotification", "CreateSubscriber", "DeleteSubscriber")


def _ok(obj: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    return 200, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", str(uuid.uuid4()))], json.dumps(obj).encode()


def _same_notification(a: dict, b: dict) -> bool:
    keys = ("NotificationType", "ComparisonOperator", "ThresholdType")
    try:
        return all(a.get(k) == b.get(k) for k in keys) and float(a.get("Threshold")) == float(b.get("Threshold"))
    except (TypeError, ValueError):
        return False


def _same_subscriber(a: dict, b: dict) -> bool:
    return a.get("SubscriptionType") == b.get("SubscriptionType") and a.get("Address") == b.get("Address")


def handle(ctx: dict):
    from moto.budgets.models import budgets_backends
    from moto.core.utils import unix_time

    try:
        req = json.loads(ctx["body"] or b"{}")
    except json.JSONDecodeError:
        return json_error("SerializationException", "Request body is not valid JSON")
    backend = budgets_backends[ctx["account"]]["aws"]
    budgets = backend.budgets[req.get("AccountId", ctx["account"])]
    op = ctx["operation"]
    if op == "UpdateBudget":
        new = req.get("NewBudget") or {}
        name = new.get("BudgetName")
        if name not in budgets:
            return json_error("NotFoundException", f"Unable to update budget: {name} - the budget doesn't exist.")
        budget = budgets[name]
        kept = {k: v for k, v in budget.budget.items() if k not in new}
        budget.budget = {**kept, **new, "LastUpdatedTime": unix_time()}
        return _ok({})
    name = req.get("BudgetName")
    if name not in budgets:
        return json_error("NotFoundException", f"Unable to get budget: {name} - the budget doesn't exist.")
    wanted = req.get("Notification") or {}
    notification = next((n for n in budgets[name].notifications if _same_notification(n.details, wanted)), None)
    if notification is None:
        return json_error("NotFoundException", "Unable to find the notification for the budget.")
    subscribers = notification.subscribers
    if op == "DescribeSubscribersForNotification":
        return _ok({"Subscribers": list(subscribers)})
    subscriber = req.get("Subscriber") or {}
    existing = [s for s in subscribers if _same_subscriber(s, subscriber)]
    if op == "CreateSubscriber":
        if existing:
            return json_error("DuplicateRecordException", "Subscriber already exists.")
        subscribers.append(subscriber)
        return _ok({})
    if not existing:
        return json_error("NotFoundException", "Unable to find the subscriber.")
    notification.subscribers = [s for s in subscribers if not _same_subscriber(s, subscriber)]
    return _ok({})
