"""What the template tells the HyperPod function (template.yaml, HyperPodFunction's environment)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_NAMESPACE = "kubeflow"
DEFAULT_INSTANCE_TYPE = "ml.p5.48xlarge"
PUBLIC_HUB = "SageMakerPublicHub"


@dataclass(frozen=True, slots=True)
class HyperPodSettings:
    cluster_name: str  # the EKS cluster that orchestrates the HyperPod cluster
    artifacts_bucket: str = ""  # jobs write under s3://<artifacts>/jobs/<run id>/
    region: str = "us-east-1"
    namespace: str = DEFAULT_NAMESPACE
    instance_type: str = DEFAULT_INSTANCE_TYPE
    replicas: int = 0  # 0: the recipe's smallest allowed instance count
    max_concurrent_jobs: int = 1
    instance_price_usd: float | None = None  # per instance-hour; None: the catalog's dated price
    hub_name: str = PUBLIC_HUB
    import_role_arn: str = ""  # the role Bedrock assumes to read the checkpoint (CreateCustomModel)
    # The local stack's simulated cluster: its API URL instead of DescribeCluster's endpoint.
    endpoint_override: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HyperPodSettings | None:
        """None when no cluster is configured: CPT stays refused with the honest message."""
        env = os.environ if env is None else env
        cluster = env.get("HYPERPOD_CLUSTER_NAME", "").strip()
        if not cluster:
            return None
        price = env.get("HYPERPOD_INSTANCE_PRICE_USD", "").strip()
        return cls(
            cluster_name=cluster,
            artifacts_bucket=env.get("ARTIFACTS_BUCKET", ""),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            namespace=env.get("HYPERPOD_NAMESPACE") or DEFAULT_NAMESPACE,
            instance_type=env.get("HYPERPOD_INSTANCE_TYPE") or DEFAULT_INSTANCE_TYPE,
            replicas=int(env.get("HYPERPOD_REPLICAS") or 0),
            max_concurrent_jobs=max(1, int(env.get("HYPERPOD_MAX_CONCURRENT_JOBS") or 1)),
            instance_price_usd=float(price) if price else None,
            hub_name=env.get("HUB_NAME") or PUBLIC_HUB,
            import_role_arn=env.get("BEDROCK_IMPORT_ROLE_ARN") or env.get("BEDROCK_ROLE_ARN", ""),
            endpoint_override=env.get("HYPERPOD_K8S_ENDPOINT") or None,
        )


@dataclass(frozen=True, slots=True)
class JobRef:
    """A PyTorchJob's identity where a Bedrock job has its ARN: ``hyperpod://<cluster>/<ns>/<name>``.

    Not an ARN on purpose: a PyTorchJob is a Kubernetes object, not an AWS resource."""

    cluster: str
    namespace: str
    name: str

    SCHEME = "hyperpod://"

    def __str__(self) -> str:
        return f"{self.SCHEME}{self.cluster}/{self.namespace}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> JobRef | None:
        if not text.startswith(cls.SCHEME):
            return None
        parts = text[len(cls.SCHEME) :].split("/")
        if len(parts) != 3 or not all(parts):
            return None
        return cls(*parts)


#: Where a HyperPod run's job ran, as JobCompleted.backend and the backend's name say it.
BACKEND = "sagemaker-hyperpod"


def is_hyperpod_job(job_arn: str | None) -> bool:
    return bool(job_arn) and str(job_arn).startswith(JobRef.SCHEME)
