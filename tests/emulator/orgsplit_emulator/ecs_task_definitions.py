"""ECS task definition families, which moto 5.2.5 resolves to their highest revision.

AWS:

- DescribeTaskDefinition `taskDefinition`: "The family for the latest ACTIVE revision, family
  and revision (family:revision) for a specific revision in the family, or full Amazon Resource
  Name (ARN)" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTaskDefinition.html).
  CreateService, UpdateService and RunTask take a family the same way ("If a revision isn't
  specified, the latest ACTIVE revision is used", CreateService). A family without an ACTIVE
  revision is `ClientException` "Unable to describe task definition." (AWS's message for a
  family it cannot resolve, quoted in terraform-provider-aws#29749; moto's own for a missing one).
  moto takes the highest revision, INACTIVE or not.
- ListTaskDefinitionFamilies `status`: "By default, both ACTIVE and INACTIVE task definition
  families are listed. If this parameter is set to ACTIVE, only task definition families that
  have an ACTIVE task definition revision are returned. If this parameter is set to INACTIVE,
  only task definition families that do not have any ACTIVE task definition revisions are
  returned" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTaskDefinitionFamilies.html).
  moto ignores it.

ListTaskDefinitions' `status` filter (default ACTIVE) and DeregisterTaskDefinition's answer (the
revision, INACTIVE) are already moto's and match AWS (tests/test_cutover_gaps.py). These are
corrections, not strict settings: they apply to every client, the seeder included.
"""
from __future__ import annotations

from .patching import install_once


@install_once
def install() -> None:
    from moto.ecs import models, responses
    from moto.ecs.exceptions import TaskDefinitionNotFoundException

    original_describe = models.EC2ContainerServiceBackend.describe_task_definition

    def describe_task_definition(self, task_definition_str: str):  # type: ignore[no-untyped-def]
        name = task_definition_str.split("/")[-1]
        if ":" in name:
            return original_describe(self, task_definition_str)
        active = [rev for rev, td in (self.task_definitions.get(name) or {}).items() if td.status == "ACTIVE"]
        if not active:
            raise TaskDefinitionNotFoundException()
        return self.task_definitions[name][max(active)]

    models.EC2ContainerServiceBackend.describe_task_definition = describe_task_definition

    def list_task_definition_families(self):  # type: ignore[no-untyped-def]
        from moto.core.responses import ActionResult

        prefix = self._get_param("familyPrefix")
        status = self._get_param("status") or "ALL"
        families = []
        for family in self.ecs_backend.list_task_definition_families(prefix):
            has_active = any(td.status == "ACTIVE" for td in self.ecs_backend.task_definitions[family].values())
            if status == "ALL" or (status == "ACTIVE") == has_active:
                families.append(family)
        return ActionResult({"families": families})

    responses.EC2ContainerServiceResponse.list_task_definition_families = list_task_definition_families
