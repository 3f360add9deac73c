"""EventBridge Scheduler: deleting a schedule group.

AWS: DeleteScheduleGroup "Deletes the specified schedule group. Deleting a schedule group results
in EventBridge Scheduler deleting all schedules associated with the group"; its errors include
ResourceNotFoundException (404) and ValidationException
(https://docs.aws.amazon.com/scheduler/latest/APIReference/API_DeleteScheduleGroup.html); "You
can't delete, or edit, the default group"
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-group-delete.html).

moto 5.2.5: a group that does not exist is a KeyError, answered HTTP 500 (which the SDKs retry
for about half a minute before failing); the default group is deleted like any other. Here the
first is ResourceNotFoundException "Schedule group NAME does not exist." (moto's own answer for
GetScheduleGroup) and the second ValidationException: the code for the default group is not
documented, ValidationException is the model's error for a request AWS refuses as it stands.
Deleting a group deletes its schedules at once (moto's; AWS shows the group DELETING until they
are gone). A correction of moto's model: every client, the seeder too.
"""
from __future__ import annotations

from .patching import install_once

DEFAULT_GROUP = "You can't delete the default schedule group."


@install_once
def install() -> None:
    from moto.scheduler import exceptions, models

    def delete_schedule_group(self, name):  # type: ignore[no-untyped-def]
        name = name or "default"
        if name == "default":
            raise exceptions.ValidationException(DEFAULT_GROUP)
        if name not in self.schedule_groups:
            raise exceptions.ScheduleGroupNotFound(name)
        self.schedule_groups.pop(name)

    models.EventBridgeSchedulerBackend.delete_schedule_group = delete_schedule_group
