"""The local stack's startup summary: what is emulated, what is simulated, what was skipped."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Part", "ResourceLine", "StackSummary"]


@dataclass(frozen=True)
class Part:
    name: str
    how: str


@dataclass(frozen=True)
class ResourceLine:
    logical_id: str
    type: str
    status: str
    physical_id: str
    note: str = ""


@dataclass
class StackSummary:
    stack_name: str
    endpoint_url: str
    region: str
    account_id: str
    time_scale: float
    emulated: list[Part] = field(default_factory=list)
    simulated: list[Part] = field(default_factory=list)
    not_emulated: list[Part] = field(default_factory=list)
    workarounds: list[Part] = field(default_factory=list)
    resources: list[ResourceLine] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [
            f"Tailor local stack {self.stack_name!r} — {self.endpoint_url} "
            f"(region {self.region}, account {self.account_id}, time scale {self.time_scale:g})",
            "",
            "EMULATED (real API calls against the in-process moto server / the dispatcher):",
        ]
        lines += [f"  - {p.name}: {p.how}" for p in self.emulated]
        lines += ["", "SIMULATED (no AWS equivalent runs locally):"]
        lines += [f"  - {p.name}: {p.how}" for p in self.simulated]
        if self.not_emulated:
            lines += ["", "NOT EMULATED:"]
            lines += [f"  - {p.name}: {p.how}" for p in self.not_emulated]
        if self.workarounds:
            lines += ["", "moto gaps repaired inside the local stack (the services never see them):"]
            lines += [f"  - {p.name}: {p.how}" for p in self.workarounds]
        lines += ["", "Resources:"]
        width = max((len(r.logical_id) for r in self.resources), default=10)
        for r in self.resources:
            note = f"  ({r.note})" if r.note else ""
            lines.append(f"  {r.logical_id:<{width}}  {r.status:<8}  {r.type}  {r.physical_id}{note}")
        if self.skipped:
            lines += ["", "Skipped:"]
            lines += [f"  - {s}" for s in self.skipped]
        if self.notes:
            lines += ["", "Notes:"]
            lines += [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()
