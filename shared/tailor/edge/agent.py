"""The reference device agent: takes the next IoT job, installs the signed bundle it names, reports.

It runs on the device with nothing but boto3, cryptography, numpy, onnxruntime, pydantic and orjson.
Trust comes from one place only: the public key written by ``provision`` (``trust/``); a key inside a
bundle is never used. Everything downloaded is checked against the signed manifest (sha256 + size)
before it lands in ``versions/<version>/``, and ``current`` switches (an atomic symlink replace) only
after the model passed its smoke test on the golden inputs. Any refusal leaves ``current`` alone.

Statuses follow AWS IoT Jobs practice: ``REJECTED`` when retrying cannot help (this device cannot run
the bundle), ``FAILED`` when it might (network, tampering in transit, a bad smoke test).

Layout under ROOT::

    device.json                     DeviceConfig
    trust/signing-public-key.pem    the only key the agent trusts (0600; trust/ is 0700)
    cache/sha256/<hex>              content-addressed downloads (re-hashed before reuse)
    versions/<version>/             model file(s), golden.json, manifest.json, manifest.sig
    current -> versions/<version>   what the application loads
    previous -> versions/<version>  the version before (rollback: point current at it)
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import platform
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field, ValidationError

from tailor.edge.golden import GoldenSet, cosine
from tailor.edge.manifest import (
    JOB_DOCUMENT_SCHEMA,
    MANIFEST_SCHEMA,
    MAX_MANIFEST_BYTES,
    MAX_SIGNATURE_BYTES,
    JobDocument,
    Manifest,
    ManifestFile,
    check_file_name,
    version_key,
)
from tailor.edge.profiles import normalise_arch
from tailor.edge.signing import SignatureError, verify_signature

CONFIG_FILE = "device.json"
TRUST_ANCHOR = "trust/signing-public-key.pem"
DETAIL_LIMIT = 1024  # IoT Jobs statusDetails values are strings of at most 1,024 characters
_CHUNK = 1024 * 1024
_RESERVED_NAMES = frozenset({"manifest.json", "manifest.sig"})  # written by the agent itself
_DOWNLOAD_TIMEOUT = 60.0


def default_profile() -> str:
    """The profile this machine would run: ``linux-<arch>`` (the agent ships for Linux devices)."""
    return f"linux-{normalise_arch(platform.machine())}"


class DeviceConfig(BaseModel):
    """What a device knows about itself (ROOT/device.json)."""

    thing_name: str = Field(min_length=1, max_length=128)
    profile: str = Field(default_factory=default_profile)
    region: str
    # The IoT Jobs data-plane endpoint; None = boto3's default for the region (real AWS).
    jobs_endpoint: str | None = None
    trust_anchor: str = TRUST_ANCHOR  # relative to ROOT
    # Room to leave on the disk beyond the bundle's blobs (the download and the copy coexist).
    min_free_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    keep_versions: int = Field(default=3, ge=2, le=10)

    @classmethod
    def load(cls, root: Path) -> DeviceConfig:
        return cls.model_validate_json((root / CONFIG_FILE).read_bytes())


def provision(
    thing: str,
    root: Path,
    public_key_pem: bytes,
    *,
    profile: str | None = None,
    region: str,
    jobs_endpoint: str | None = None,
) -> DeviceConfig:
    """Write ROOT/device.json and the trust anchor: the one key this device will ever trust."""
    if not public_key_pem.lstrip().startswith(b"-----BEGIN PUBLIC KEY-----"):
        raise ValueError("the trust anchor must be a PEM public key (-----BEGIN PUBLIC KEY-----)")
    _check_trust_anchor(public_key_pem)
    config = DeviceConfig(
        thing_name=thing,
        region=region,
        jobs_endpoint=jobs_endpoint,
        **({"profile": profile} if profile else {}),
    )
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    trust = root / config.trust_anchor
    trust.parent.mkdir(parents=True, exist_ok=True)
    trust.parent.chmod(0o700)
    _write_private(trust, public_key_pem)
    _write_private(root / CONFIG_FILE, config.model_dump_json(indent=2).encode())
    return config


def _check_trust_anchor(public_key_pem: bytes) -> None:
    """Fail at provisioning, not at the first job: the key must load as EC P-256."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_public_key(public_key_pem)
    except ValueError as error:
        raise ValueError(f"the trust anchor does not load: {error}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("the trust anchor is not an EC P-256 public key")


def _write_private(path: Path, data: bytes) -> None:
    """Write atomically with mode 0600 (a temp file beside it, then rename)."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        tmp.chmod(0o600)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class OutcomeStatus(StrEnum):
    NONE = "NONE"  # nothing pending
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # retryable
    REJECTED = "REJECTED"  # this device cannot take this bundle


@dataclass(frozen=True, slots=True)
class Step:
    name: str  # "checked", "downloaded", "verified", "smoke test", "switched", ...
    message: str


@dataclass(slots=True)
class Outcome:
    status: OutcomeStatus
    job_id: str | None = None
    version: str | None = None
    reason: str | None = None
    detail: str | None = None
    steps: list[Step] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 installed, 1 refused or failed (the previous version is still current), 3 nothing pending."""
        return {OutcomeStatus.SUCCEEDED: 0, OutcomeStatus.NONE: 3}.get(self.status, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "jobId": self.job_id,
            "version": self.version,
            "reason": self.reason,
            "detail": self.detail,
            "steps": [{"name": s.name, "message": s.message} for s in self.steps],
        }


class JobsClient(Protocol):
    """The part of boto3's ``iot-jobs-data`` client the agent uses."""

    def start_next_pending_job_execution(self, **kwargs: Any) -> Any: ...

    def update_job_execution(self, **kwargs: Any) -> Any: ...


def jobs_client(config: DeviceConfig) -> JobsClient:
    """The ``iot-jobs-data`` client (SigV4: the credentials come from the usual chain)."""
    from tailor.adapters.device_jobs import jobs_data_client

    client: JobsClient = jobs_data_client(config.region, config.jobs_endpoint)
    return client


class _StopError(Exception):
    """Stop working on this job and report ``status`` (FAILED or REJECTED)."""

    def __init__(self, status: OutcomeStatus, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.status, self.reason, self.detail = status, reason, detail


def _failed(reason: str, detail: str) -> _StopError:
    return _StopError(OutcomeStatus.FAILED, reason, detail)


def _rejected(reason: str, detail: str) -> _StopError:
    return _StopError(OutcomeStatus.REJECTED, reason, detail)


_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError)


def _open(url: str) -> Any:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in {"http", "https"}:
        raise _rejected("bad document", f"download URL scheme {scheme!r} is not http or https")
    # The scheme is checked above: no file:// or ftp:// reaches urlopen.
    return urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT)


def fetch_bytes(url: str, cap: int, what: str) -> bytes:
    """Download at most ``cap`` bytes (streamed: a hostile server cannot fill memory)."""
    try:
        with _open(url) as response:
            parts: list[bytes] = []
            total = 0
            while chunk := response.read(min(_CHUNK, cap + 1 - total)):
                total += len(chunk)
                if total > cap:
                    raise _failed("download", f"{what} is larger than {cap} bytes")
                parts.append(chunk)
                if total == cap + 1:
                    break
            return b"".join(parts)
    except _StopError:
        raise
    except urllib.error.HTTPError as error:
        raise _failed("download", f"{what}: HTTP {error.code}") from None
    except _NETWORK_ERRORS as error:
        raise _failed("download", f"{what}: {error}") from None


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _refuse_symlinks(*paths: Path) -> None:
    for path in paths:
        if path.is_symlink():
            raise _failed("unsafe path", f"{path} is a symbolic link; refusing to write through it")


class Agent:
    """One device's agent. ``jobs_client`` is injectable (tests); by default the boto3 client."""

    def __init__(
        self,
        config: DeviceConfig,
        root: Path,
        jobs_client: JobsClient | None = None,
        *,
        on_step: Callable[[Step], None] | None = None,
        step_timeout_minutes: int | None = None,
    ) -> None:
        self.config = config
        self.root = root
        self._jobs = jobs_client
        self._on_step = on_step
        self._step_timeout = step_timeout_minutes
        self._steps: list[Step] = []

    @property
    def jobs(self) -> JobsClient:
        if self._jobs is None:
            self._jobs = jobs_client(self.config)
        return self._jobs

    # -- paths ----------------------------------------------------------------------------------------

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def previous(self) -> Path:
        return self.root / "previous"

    @property
    def versions(self) -> Path:
        return self.root / "versions"

    @property
    def cache(self) -> Path:
        return self.root / "cache" / "sha256"

    def current_version(self) -> str | None:
        """The version ``current`` points at (None before the first install)."""
        if not self.current.is_symlink():
            return None
        return self.current.readlink().name

    def _step(self, name: str, message: str) -> None:
        step = Step(name, message)
        self._steps.append(step)
        if self._on_step is not None:
            self._on_step(step)

    # -- the loop -------------------------------------------------------------------------------------

    def run(
        self,
        stop_after: int | None = None,
        poll_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> list[Outcome]:
        """Take jobs until ``stop_after`` attempts (None: forever); sleep when nothing is pending."""
        outcomes: list[Outcome] = []
        while stop_after is None or len(outcomes) < stop_after:
            outcome = self.run_once()
            outcomes.append(outcome)
            if outcome.status is OutcomeStatus.NONE or outcome.job_id is None:
                sleep(poll_seconds)
        return outcomes

    def run_once(self) -> Outcome:
        """Start the next pending job execution and carry it through; never raises for a job problem."""
        self._steps = []
        request: dict[str, Any] = {"thingName": self.config.thing_name}
        if self._step_timeout is not None:
            request["stepTimeoutInMinutes"] = self._step_timeout
        try:
            response = self.jobs.start_next_pending_job_execution(**request)
        except Exception as error:  # network, throttling, credentials: try again at the next poll
            return Outcome(
                OutcomeStatus.FAILED,
                reason="jobs endpoint",
                detail=str(error)[:DETAIL_LIMIT],
                steps=self._steps,
            )
        execution = response.get("execution")
        if not execution:
            self._step("checked", "no pending job")
            return Outcome(OutcomeStatus.NONE, steps=self._steps)
        job_id = str(execution["jobId"])
        self._step("checked", f"job {job_id} (execution IN_PROGRESS)")
        version: str | None = None
        try:
            document = self._document(execution.get("jobDocument"))
            version = document.version
            installed = self._install(document)
        except _StopError as stop:
            self._report(job_id, stop.status, {"reason": stop.reason, "detail": stop.detail})
            return Outcome(stop.status, job_id, version, stop.reason, stop.detail, self._steps)
        except Exception as error:  # a bug or an unforeseen I/O problem: report it, keep current
            detail = f"{type(error).__name__}: {error}"
            self._report(job_id, OutcomeStatus.FAILED, {"reason": "agent error", "detail": detail})
            return Outcome(OutcomeStatus.FAILED, job_id, version, "agent error", detail, self._steps)
        self._report(job_id, OutcomeStatus.SUCCEEDED, {"version": installed, "profile": self.config.profile})
        return Outcome(OutcomeStatus.SUCCEEDED, job_id, installed, steps=self._steps)

    def _report(self, job_id: str, status: OutcomeStatus, details: dict[str, str]) -> None:
        clean = {key: str(value)[:DETAIL_LIMIT] for key, value in details.items()}
        try:
            self.jobs.update_job_execution(
                thingName=self.config.thing_name, jobId=job_id, status=status.value, statusDetails=clean
            )
        except Exception as error:  # the outcome stands; IoT times the execution out if never told
            self._step("report", f"could not report {status.value}: {error}")
        else:
            self._step("reported", f"{status.value} {clean}")

    # -- the steps ------------------------------------------------------------------------------------

    def _document(self, raw: Any) -> JobDocument:
        if not isinstance(raw, str):
            raise _rejected("bad document", "the job execution has no job document")
        try:
            document = JobDocument.model_validate_json(raw)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise _rejected("bad document", f"{where}: {first['msg']}") from None
        except ValueError as error:
            raise _rejected("bad document", str(error)) from None
        if document.schema_ != JOB_DOCUMENT_SCHEMA:
            raise _rejected(
                "bad document", f"job document schema {document.schema_!r} is not {JOB_DOCUMENT_SCHEMA!r}"
            )
        return document

    def _install(self, document: JobDocument) -> str:
        profile = self.config.profile
        if profile not in document.profiles:
            raise _rejected(
                "incompatible profile",
                f"this device is {profile}; the bundle is for {', '.join(document.profiles) or 'nothing'}",
            )
        if self._already_current(document):
            self._step("checked", f"{document.name} {document.version} is already current")
            return document.version
        if self.current_version() == document.version:
            raise _rejected(
                "version conflict",
                f"version {document.version} is current with other content; versions are immutable",
            )
        current = self.current_version()
        if current is not None and _is_version(current) and _numeric(document.version) < _numeric(current):
            # Anti-rollback: an older bundle, even genuinely signed, is refused (a replayed job must
            # not downgrade a fleet). A fleet rollback is published as a new, higher version.
            raise _rejected("downgrade", f"version {document.version} is older than the current {current}")
        self._check_disk(sum(blob.size or 0 for blob in document.blobs.values()), "the job document")
        self._step("checked", f"profile {profile}; {len(document.blobs)} blob(s) declared")

        manifest_bytes = fetch_bytes(document.manifest.url, MAX_MANIFEST_BYTES, "manifest")
        signature = fetch_bytes(document.signature.url, MAX_SIGNATURE_BYTES, "signature")
        try:  # before anything else reads the manifest
            verify_signature(self._trust_anchor(), manifest_bytes, signature)
        except SignatureError as error:
            raise _failed("signature", str(error)) from None
        except ValueError as error:  # a signature that is not DER at all
            raise _failed("signature", str(error)) from None
        self._step("verified", f"manifest signature ({len(manifest_bytes)} bytes)")
        try:
            manifest = Manifest.from_bytes(manifest_bytes)
        except (ValidationError, ValueError) as error:
            raise _rejected("bad manifest", str(error)[:DETAIL_LIMIT]) from None
        if (manifest.name, manifest.version) != (document.name, document.version):
            raise _failed(
                "manifest mismatch",
                f"the job names {document.name} {document.version}, the manifest {manifest.name} "
                f"{manifest.version}",
            )
        if manifest.schema_ != MANIFEST_SCHEMA:
            raise _rejected(
                "bad manifest", f"manifest schema {manifest.schema_!r} is not {MANIFEST_SCHEMA!r}"
            )
        build = manifest.profile(profile)
        if build is None:
            raise _rejected("incompatible profile", f"the manifest has no build for {profile}")
        self._check_runtime(manifest.onnx.min_onnxruntime)

        try:
            wanted = [manifest.file(check_file_name(build.model_file)), manifest.file(manifest.golden.file)]
        except KeyError as error:
            raise _rejected("bad manifest", f"file {error} is not listed in the manifest") from None
        except ValueError as error:
            raise _failed("unsafe path", str(error)) from None
        # The signed sizes now (the document's were only a hint): each blob is cached, then copied.
        self._check_disk(2 * sum(entry.size for entry in wanted), "the manifest")
        blobs = {entry.name: self._blob(entry, document) for entry in wanted}

        target = self.versions / manifest.version
        _refuse_symlinks(self.versions, target)
        self.versions.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.versions, prefix=f".{manifest.version}-"))
        try:
            for name, blob in blobs.items():
                destination = self._inside(staging, name)
                shutil.copyfile(blob, destination)
            (staging / "manifest.json").write_bytes(manifest_bytes)
            (staging / "manifest.sig").write_bytes(signature)
            score = self._smoke_test(staging, manifest, build.model_file)
            self._step("smoke test", f"cosine {score:.6f} ≥ {manifest.golden.min_cosine}")
            _refuse_symlinks(target)
            if target.exists():  # left by an older install of the same version, not current
                shutil.rmtree(target)
            staging.replace(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._switch(manifest.version)
        self._prune()
        return manifest.version

    def _already_current(self, document: JobDocument) -> bool:
        if self.current_version() != document.version:
            return False
        installed = self.current / "manifest.json"
        try:
            manifest_bytes = installed.read_bytes()
            verify_signature(
                self._trust_anchor(), manifest_bytes, (self.current / "manifest.sig").read_bytes()
            )
            manifest = Manifest.from_bytes(manifest_bytes)
        except (OSError, SignatureError, ValueError):
            return False
        return manifest.name == document.name and manifest.version == document.version

    def _trust_anchor(self) -> bytes:
        path = self.root / self.config.trust_anchor
        try:
            return path.read_bytes()
        except OSError as error:
            raise _rejected("not provisioned", f"no trust anchor at {path}: {error}") from None

    def _check_disk(self, blob_bytes: int, according_to: str) -> None:
        needed = blob_bytes + self.config.min_free_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.root).free
        if free < needed:
            raise _rejected(
                "disk",
                f"{free} bytes free; {according_to} needs {needed} (blobs + a margin of "
                f"{self.config.min_free_bytes})",
            )

    def _check_runtime(self, minimum: str) -> None:
        try:
            from importlib.metadata import PackageNotFoundError, version

            installed = version("onnxruntime")
        except PackageNotFoundError:
            raise _rejected("onnxruntime", "onnxruntime is not installed") from None
        if _numeric(installed) < _numeric(minimum):
            raise _rejected(
                "onnxruntime", f"the bundle needs onnxruntime ≥ {minimum}; {installed} is installed"
            )

    def _blob(self, entry: ManifestFile, document: JobDocument) -> Path:
        """The verified cached copy of ``entry``: reused only after re-hashing, else downloaded."""
        _refuse_symlinks(self.root / "cache", self.cache)
        self.cache.mkdir(parents=True, exist_ok=True)
        cached = self.cache / entry.sha256
        _refuse_symlinks(cached)
        if cached.is_file():
            if cached.stat().st_size == entry.size and _hash_file(cached) == entry.sha256:
                self._step("cached", f"{entry.name} ({_mb(entry.size)})")
                return cached
            cached.unlink()
        source = document.blobs.get(entry.sha256)
        if source is None:
            raise _rejected("bad document", f"the job document has no URL for {entry.name} ({entry.sha256})")
        fd, tmp_name = tempfile.mkstemp(dir=self.cache, prefix=f".{entry.sha256[:16]}-")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            total = 0
            with os.fdopen(fd, "wb") as out:
                try:
                    with _open(source.url) as response:
                        while chunk := response.read(min(_CHUNK, entry.size + 1 - total)):
                            total += len(chunk)
                            if total > entry.size:
                                raise _failed("digest", f"{entry.name} is larger than its {entry.size} bytes")
                            digest.update(chunk)
                            out.write(chunk)
                except _StopError:
                    raise
                except urllib.error.HTTPError as error:
                    raise _failed("download", f"{entry.name}: HTTP {error.code}") from None
                except _NETWORK_ERRORS as error:
                    raise _failed("download", f"{entry.name}: {error}") from None
            if total != entry.size:
                raise _failed("digest", f"{entry.name} is {total} bytes; the manifest says {entry.size}")
            if digest.hexdigest() != entry.sha256:
                raise _failed("digest", f"{entry.name} does not match its sha256 in the manifest")
            tmp.replace(cached)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._step("downloaded", f"{entry.name} {_mb(entry.size)}")
        return cached

    @staticmethod
    def _inside(directory: Path, name: str) -> Path:
        try:
            check_file_name(name)
        except ValueError as error:
            raise _failed("unsafe path", str(error)) from None
        if name in _RESERVED_NAMES:
            raise _failed("unsafe path", f"{name!r} is reserved for the agent's own files")
        path = directory / name
        _refuse_symlinks(path)
        if path.resolve().parent != directory.resolve():
            raise _failed("unsafe path", f"{name!r} resolves outside {directory}")
        return path

    def _smoke_test(self, directory: Path, manifest: Manifest, model_file: str) -> float:
        """The lowest cosine of this build's outputs vs the expected ones, over every golden input."""
        profile = self.config.profile
        try:
            import onnxruntime as ort

            golden = GoldenSet.from_bytes((directory / manifest.golden.file).read_bytes())
            expected_key = profile if profile in golden.expected else None
            if expected_key is None:
                raise _failed("smoke test", f"the golden set has no expected outputs for {profile}")
            options = ort.SessionOptions()
            options.log_severity_level = 3
            session = ort.InferenceSession(
                str(directory / model_file), sess_options=options, providers=["CPUExecutionProvider"]
            )
            names = [output.name for output in session.get_outputs()]
            lowest = 1.0
            for index in range(len(golden.inputs)):
                results = dict(zip(names, session.run(None, golden.feeds(index)), strict=True))
                for name, expected in golden.outputs(expected_key, index).items():
                    if name not in results:
                        raise _failed("smoke test", f"the model has no output {name!r}")
                    lowest = min(lowest, cosine(results[name], expected))
        except _StopError:
            raise
        except Exception as error:
            raise _failed("smoke test", f"{type(error).__name__}: {error}") from None
        if lowest < manifest.golden.min_cosine:
            raise _failed("smoke test", f"cosine {lowest:.6f} < {manifest.golden.min_cosine}")
        return lowest

    def _switch(self, version: str) -> None:
        """Point ``current`` at the new version with one rename; ``previous`` at the one before."""
        old = self.current_version()
        if self.current.exists() and not self.current.is_symlink():
            raise _failed("unsafe path", f"{self.current} exists and is not a symbolic link")
        self._point(self.current, version)
        if old is not None and old != version:
            self._point(self.previous, old)
        self._step("switched", f"current → {version}" + (f" (previous {old})" if old else ""))

    def _point(self, link: Path, version: str) -> None:
        tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(Path("versions") / version)
        tmp.replace(link)

    def _prune(self) -> None:
        keep = {self.current_version(), self.previous_version()}
        installed = sorted(
            (p for p in self.versions.iterdir() if p.is_dir() and not p.is_symlink() and _is_version(p.name)),
            key=lambda p: version_key(p.name),
            reverse=True,
        )
        keep |= {p.name for p in installed[: self.config.keep_versions]}
        for path in installed:
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    def rollback(self) -> str:
        """Point ``current`` back at ``previous`` and ``previous`` at what was current; the new current.

        Local only (no job is reported): the next job the device takes moves it on again."""
        old, back = self.current_version(), self.previous_version()
        if back is None or not (self.versions / back).is_dir() or (self.versions / back).is_symlink():
            raise ValueError("there is no previous version to roll back to")
        self._point(self.current, back)
        if old is not None:
            self._point(self.previous, old)
        return back

    def previous_version(self) -> str | None:
        if not self.previous.is_symlink():
            return None
        return self.previous.readlink().name


def _is_version(name: str) -> bool:
    try:
        version_key(name)
    except ValueError:
        return False
    return True


def _numeric(version: str) -> tuple[int, ...]:
    """Numeric parts of a version, for comparing: 1.16.3 → (1, 16, 3); 1.17.0rc1 → (1, 17, 0)."""
    parts: list[int] = []
    for part in version.split("."):
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(part):
            break
    return tuple(parts)


def _mb(size: int) -> str:
    if size >= 100_000:
        return f"{size / 1_000_000:.2f} MB"
    return f"{size / 1000:.1f} kB"
