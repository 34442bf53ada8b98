"""EKS bearer tokens: a presigned STS ``GetCallerIdentity`` URL that names the cluster.

The same recipe as ``aws eks get-token`` and aws-iam-authenticator: presign ``GetCallerIdentity``
(GET, regional STS endpoint) with the signed header ``x-k8s-aws-id: <cluster name>``, base64url it
without padding and prefix ``k8s-aws-v1.``. EKS calls STS with the URL and maps the caller's role
to its access entry. Presigning is local: no STS call, no IAM permission. EKS accepts the token for
15 minutes; it is refreshed a minute before the presigned expiry (60 s), so a token in use is fresh.
"""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_HEADER = "x-k8s-aws-id"
PRESIGNED_SECONDS = 60
_REFRESH_MARGIN_SECONDS = 15


class EksTokenSource:
    """Tokens for one cluster, cached until shortly before they expire."""

    def __init__(self, cluster_name: str, region: str, session: Any | None = None) -> None:
        self.cluster_name = cluster_name
        self.region = region
        self._session = session
        self._client: Any | None = None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def _sts(self) -> Any:
        if self._client is None:
            import boto3

            session = self._session or boto3.session.Session()
            # Its own client, not the shared cached one: the header handler must sign only this.
            # The regional endpoint explicitly (never AWS_ENDPOINT_URL): EKS verifies against STS.
            client = session.client(
                "sts", region_name=self.region, endpoint_url=f"https://sts.{self.region}.amazonaws.com"
            )
            client.meta.events.register("before-sign.sts.GetCallerIdentity", self._add_cluster_header)
            self._client = client
        return self._client

    def _add_cluster_header(self, request: Any, **_: Any) -> None:
        request.headers[CLUSTER_HEADER] = self.cluster_name

    def token(self) -> str:
        with self._lock:
            now = time.monotonic()
            if self._token is None or now >= self._expires_at:
                url = self._sts().generate_presigned_url(
                    "get_caller_identity", Params={}, ExpiresIn=PRESIGNED_SECONDS, HttpMethod="GET"
                )
                encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
                self._token = TOKEN_PREFIX + encoded
                self._expires_at = now + PRESIGNED_SECONDS - _REFRESH_MARGIN_SECONDS
            return self._token
