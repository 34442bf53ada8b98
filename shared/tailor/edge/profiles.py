"""Device profiles: which CPU a bundle's model file is quantized for.

x86-64 without VNNI can saturate in U8S8 integer matmuls, so weights keep 7 bits there
(``reduce_range``); ARM64 does not have that problem. Two profiles that quantize the same way
produce the same bytes, so they share one content-addressed blob.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    name: str
    os: str
    arch: str  # as platform.machine() says it, normalised by ``normalise_arch``
    weight_type: str = "QInt8"
    reduce_range: bool = False


PROFILES: dict[str, DeviceProfile] = {
    p.name: p
    for p in (
        DeviceProfile("linux-x86_64", "linux", "x86_64", reduce_range=True),
        DeviceProfile("linux-aarch64", "linux", "aarch64"),
        DeviceProfile("android-arm64", "android", "aarch64"),
    )
}
DEFAULT_PROFILE = "linux-x86_64"

_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "armv8": "aarch64"}


def normalise_arch(machine: str) -> str:
    machine = machine.lower()
    return _ARCH_ALIASES.get(machine, machine)


class UnknownProfileError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown device profile {name!r}; known: {', '.join(sorted(PROFILES))}")
        self.name = name


def profile(name: str) -> DeviceProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfileError(name) from None
