"""The HyperPod function's dependencies, built once per container from its environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from tailor.hyperpod.reconcile import HyperPodDeps
from tailor.hyperpod.settings import HyperPodSettings
from tailor.submission.service import SubmissionDeps


@dataclass
class HyperPodWiring:
    settings: HyperPodSettings
    submission: SubmissionDeps
    status: HyperPodDeps
    queue: Any

    @classmethod
    def from_env(cls) -> HyperPodWiring:
        from tailor.adapters import aws
        from tailor.adapters.bus import EventBridgePublisher
        from tailor.adapters.eks_token import EksTokenSource
        from tailor.adapters.hub import HubTemplates
        from tailor.adapters.kubernetes import ClusterAccess, KubernetesJobs, describe_cluster
        from tailor.adapters.model_import import BedrockModelImporter
        from tailor.adapters.object_store import S3ObjectStore
        from tailor.adapters.queue import SqsQueue
        from tailor.adapters.runs import DynamoRunStore
        from tailor.config import Settings
        from tailor.hyperpod.backend import HyperPodBackend
        from tailor.jobs.pricing import price_table
        from tailor.submission.request import SubmissionSettings

        settings = HyperPodSettings.from_env()
        if settings is None:
            raise RuntimeError(
                "HYPERPOD_CLUSTER_NAME is not set (template.yaml sets it with HyperPodClusterName)"
            )
        base = Settings.from_env()
        token = EksTokenSource(settings.cluster_name, settings.region)
        access = (
            ClusterAccess(settings.cluster_name, settings.endpoint_override)
            if settings.endpoint_override
            else describe_cluster(settings.cluster_name, settings.region)
        )
        jobs = KubernetesJobs(access, token.token, settings.namespace)
        hub = HubTemplates(aws.client("sagemaker"), aws.client("s3"), hub_name=settings.hub_name)
        submission = SubmissionSettings.from_env()
        runs = DynamoRunStore(base.runs_table)
        bus = EventBridgePublisher(base.bus_name)
        objects = S3ObjectStore()
        return cls(
            settings=settings,
            submission=SubmissionDeps(
                runs=runs,
                bus=bus,
                backends=(HyperPodBackend(jobs, settings, hub.payload_template),),
                settings=submission,
                prices=price_table(submission.prices_json, None),
            ),
            status=HyperPodDeps(
                runs=runs,
                bus=bus,
                jobs=jobs,
                importer=BedrockModelImporter(),
                objects=objects,
                settings=settings,
            ),
            queue=SqsQueue(os.environ["HYPERPOD_QUEUE_URL"]),
        )
