"""A Greengrass v2 component recipe for a bundle: the same signed files, delivered by Greengrass.

One manifest per device platform, each listing that platform's model file, the golden set, the
manifest and its signature as S3 artifacts (content-addressed keys: never overwritten). The install
step verifies each blob's SHA-256 and copies it under its bundle name into the component's work
directory, where an application (or the Tailor agent) verifies the manifest signature before use.
The model is an open compact ONNX model; Nova weights never leave AWS.
"""

from __future__ import annotations

from typing import Any

from tailor.edge.manifest import Manifest, blob_key, manifest_key, signature_key

RECIPE_FORMAT_VERSION = "2020-01-25"
COMPONENT_PREFIX = "tailor.model."
# Greengrass spells platforms its own way (recipe "Platform"); Android is not a Greengrass platform.
_GREENGRASS_OS = {"linux": "linux"}
_GREENGRASS_ARCH = {"x86_64": "amd64", "aarch64": "aarch64"}


def component_name(name: str) -> str:
    return f"{COMPONENT_PREFIX}{name}"


def build_recipe(manifest: Manifest, *, bucket: str, export_id: str) -> dict[str, Any]:
    """The recipe (a JSON-able dict) for ``CreateComponentVersion(inlineRecipe=...)``."""
    platforms: dict[tuple[str, str], list[str]] = {}  # (os, arch) → model files, first profile wins
    for build in manifest.profiles:
        os_name = _GREENGRASS_OS.get(build.os)
        arch = _GREENGRASS_ARCH.get(build.arch)
        if os_name is None or arch is None:
            continue
        platforms.setdefault((os_name, arch), []).append(build.model_file)
    golden = manifest.golden.file
    manifests = []
    for (os_name, arch), model_files in platforms.items():
        names = [model_files[0], golden]
        artifacts: list[dict[str, Any]] = [
            _artifact(bucket, manifest_key(export_id)),
            _artifact(bucket, signature_key(export_id)),
        ]
        install = ["set -eu", "dest='{work:path}/model'", 'mkdir -p "$dest"']
        install.append('cp "{artifacts:path}/manifest.json" "{artifacts:path}/manifest.sig" "$dest/"')
        for name in names:
            entry = manifest.file(name)
            artifacts.append(_artifact(bucket, blob_key(entry.sha256)))
            install.append(
                f'echo "{entry.sha256}  {{artifacts:path}}/{entry.sha256}" | sha256sum -c - >/dev/null'
            )
            install.append(f'cp "{{artifacts:path}}/{entry.sha256}" "$dest/{name}"')
        install.append(f"ln -sf '{model_files[0]}' \"$dest/model.onnx\"")
        manifests.append(
            {
                "Platform": {"os": os_name, "architecture": arch},
                "Lifecycle": {"install": {"Script": "\n".join(install), "RequiresPrivilege": False}},
                "Artifacts": artifacts,
            }
        )
    return {
        "RecipeFormatVersion": RECIPE_FORMAT_VERSION,
        "ComponentName": component_name(manifest.name),
        "ComponentVersion": manifest.version,
        "ComponentType": "aws.greengrass.generic",
        "ComponentDescription": (
            f"Open compact ONNX model {manifest.name} {manifest.version} (Tailor edge export "
            f"{export_id}; not Nova weights), with a signed manifest and golden set."
        )[:256],
        "ComponentPublisher": "Tailor",
        "ComponentConfiguration": {"DefaultConfiguration": {"exportId": export_id}},
        "Manifests": manifests,
    }


def _artifact(bucket: str, key: str) -> dict[str, Any]:
    return {
        "URI": f"s3://{bucket}/{key}",
        "Unarchive": "NONE",
        "Permission": {"Read": "OWNER", "Execute": "NONE"},
    }
