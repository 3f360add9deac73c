"""EventBridge Scheduler: UpdateSchedule without `State` leaves the schedule ENABLED.

AWS: "When you call UpdateSchedule, EventBridge Scheduler uses all values, including empty values,
specified in the request and overrides the existing schedule ... if you do not set an optional
field in your request, that field will be set to its system-default value after the update"
(https://docs.aws.amazon.com/scheduler/latest/APIReference/API_UpdateSchedule.html); the system
default of `State` is ENABLED, what CreateSchedule gives a schedule created without it (moto
does that already). moto 5.2.5's UpdateSchedule stores the missing `State` as null: GetSchedule
then answers no State at all and ListSchedules(State=ENABLED) leaves the schedule out. A
correction for every client, the seeder too.
"""
from __future__ import annotations

from .patching import install_once


@install_once
def install() -> None:
    from moto.scheduler import models

    original = models.Schedule.update

    def update(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        if not self.state:
            self.state = "ENABLED"

    models.Schedule.update = update
