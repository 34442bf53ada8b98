"""The local stack's startup summary: what is emulated, what is simulated, what is not available
locally, what was skipped.

``render()`` is the full text (``tailor local up --verbose``, ``LocalStack.describe()``);
``short()`` is the few lines ``tailor local up`` prints by default.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Part", "ResourceLine", "StackSummary"]


@dataclass(frozen=True)
class Part:
    name: str
    how: str
    #: A few words for ``short()`` (simulated parts: "jobs advance in 6 s, quota 2, …").
    brief: str = ""


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
    #: Parts played by a local simulator (no AWS API behind them). Only what has a simulator.
    simulated: list[Part] = field(default_factory=list)
    #: Parts of Tailor that do not run locally at all (no emulation, no simulator yet). Bedrock model
    #: customization is one when the Bedrock simulator is off: its control plane is emulated (jobs
    #: are created in moto, a run becomes SUBMITTED) but no job ever trains — each stays InProgress.
    not_available: list[Part] = field(default_factory=list)
    not_emulated: list[Part] = field(default_factory=list)
    workarounds: list[Part] = field(default_factory=list)
    resources: list[ResourceLine] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def heading(self) -> str:
        return (
            f"Tailor local stack {self.stack_name!r} — {self.endpoint_url} "
            f"(region {self.region}, account {self.account_id}, time scale {self.time_scale:g})"
        )

    def short(self) -> list[str]:
        """A few lines: what runs, what does not, how many resources (details: ``render()``)."""
        lines = [f"Tailor local stack {self.stack_name!r} on {self.endpoint_url} ({self.region})"]
        lines.append("  emulated: " + ", ".join(p.name for p in self.emulated))
        if not self.simulated:
            lines.append("  simulated: nothing yet")
        for part in self.simulated:
            lines.append(f"  {part.name}: SIMULATED" + (f" ({part.brief})" if part.brief else ""))
        if self.not_available:
            lines.append("  not available locally: " + ", ".join(p.name for p in self.not_available))
        counts = Counter(r.status for r in self.resources)
        by_status = ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda c: -c[1]))
        lines.append(f"  {len(self.resources)} resources: {by_status}; {len(self.notes)} note(s) (--verbose)")
        return lines

    def render(self) -> str:
        lines = [
            self.heading(),
            "",
            "EMULATED (real API calls against the in-process moto server / the dispatcher):",
        ]
        lines += [f"  - {p.name}: {p.how}" for p in self.emulated]
        lines += ["", "SIMULATED (a local stand-in, no AWS API behind it):"]
        lines += [f"  - {p.name}: SIMULATED — {p.how}" for p in self.simulated] or ["  - nothing yet"]
        if self.not_available:
            lines += ["", "NOT AVAILABLE LOCALLY:"]
            lines += [f"  - {p.name}: {p.how}" for p in self.not_available]
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
