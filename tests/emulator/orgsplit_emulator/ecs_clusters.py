"""ECS: a deleted cluster is described, not listed.

AWS: DeleteCluster "Deletes the specified cluster. The cluster transitions to the INACTIVE state.
Clusters with an INACTIVE status might remain discoverable in your account for a period of time"
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCluster.html): DescribeClusters
still answers it, INACTIVE, and a second DeleteCluster answers it again; ListClusters does not list
it (seen on AWS: "if I try aws ecs list-clusters it does not appear and if I try aws ecs
delete-cluster it returns the cluster as Inactive", aws/aws-cli#2078; the API reference does not
say). moto 5.2.5 lists INACTIVE clusters in ListClusters, so an inventory after cleanup would find
the deleted cluster. Here ListClusters leaves them out. A correction of moto's model: every client,
the seeder too. What keeps a cluster from being deleted (services, tasks) is a strict refusal:
delete_conflicts.py.
"""
from __future__ import annotations

from .patching import install_once


@install_once
def install() -> None:
    from moto.ecs import models

    original = models.EC2ContainerServiceBackend.list_clusters

    def list_clusters(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        inactive = {c.arn for c in self.clusters.values() if c.status == "INACTIVE"}
        return [arn for arn in original(self, *args, **kwargs) if arn not in inactive]

    models.EC2ContainerServiceBackend.list_clusters = list_clusters
