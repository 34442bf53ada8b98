"""Event sources and detail-types: the public names subscribers write rules against."""

from enum import StrEnum


class Source(StrEnum):
    INGESTION = "tailor.ingestion"
    SUBMISSION = "tailor.submission"
    STATUS = "tailor.status"
    DEPLOYMENT = "tailor.deployment"
    EDGE = "tailor.edge"
    # Events users (or the CLI on their behalf) put on the Tailor bus.
    USER = "tailor.user"


class DetailType(StrEnum):
    DATASET_VALIDATED = "DatasetValidated"
    DATASET_REJECTED = "DatasetRejected"
    JOB_SUBMITTED = "JobSubmitted"
    JOB_SUBMISSION_FAILED = "JobSubmissionFailed"
    JOB_STATUS_CHANGED = "JobStatusChanged"
    JOB_COMPLETED = "JobCompleted"
    JOB_FAILED = "JobFailed"
    JOB_STOPPED = "JobStopped"
    DEPLOYMENT_REQUESTED = "DeploymentRequested"
    MODEL_DEPLOYED = "ModelDeployed"
    MODEL_DEPLOYMENT_FAILED = "ModelDeploymentFailed"
    EDGE_EXPORT_REQUESTED = "EdgeExportRequested"
    EDGE_PACKAGE_PUBLISHED = "EdgePackagePublished"
    EDGE_EXPORT_FAILED = "EdgeExportFailed"


# AWS's own events that Tailor consumes.
S3_SOURCE = "aws.s3"
S3_OBJECT_CREATED = "Object Created"
BEDROCK_SOURCE = "aws.bedrock"
BEDROCK_JOB_STATE_CHANGE = "Model Customization Job State Change"

# EventBridge limits that shape the publisher.
PUT_EVENTS_MAX_ENTRIES = 10
PUT_EVENTS_MAX_BYTES = 256 * 1024
