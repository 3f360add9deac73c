"""ECS task start times.

moto 5.2.5 never sets `startedAt` on a task, so DescribeTasks answers without it; AWS sets it
when a task reaches RUNNING
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html). moto's tasks start
RUNNING, so we stamp the creation time as the start time. Scenarios back-date a task with
`started_hours_ago` (a standalone task left running for days, incident 2 in README.md).

moto also moves a task one state towards STOPPED each time it is described (RUNNING,
DEACTIVATING, STOPPING, ...), so a task seen by inventory, then by audit, would look stopped
although nobody stopped it. A task here stays RUNNING until StopTask, as on AWS.
"""
from __future__ import annotations

import datetime

from .patching import install_once


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


@install_once
def install() -> None:
    """Stamps every task moto creates with `started_at` (serialised as `startedAt`)."""
    from moto.ecs import models
    from moto.moto_api import state_manager

    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**12})
    original = models.Task.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        self.started_at = _now()
        self.created_at = self.started_at

    models.Task.__init__ = init


def backdate(account: str, region: str, task_arn: str, hours: float) -> None:
    """Sets a task's start `hours` before now."""
    from moto.ecs.models import ecs_backends

    backend = ecs_backends[account][region]
    for tasks in backend.tasks.values():
        for task in tasks.values():
            if task.task_arn == task_arn:
                task.started_at = _now() - datetime.timedelta(hours=hours)
                task.created_at = task.started_at
                return
    raise ValueError(f"no ECS task {task_arn} in account {account} ({region})")
