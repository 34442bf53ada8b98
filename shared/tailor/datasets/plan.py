"""What a scan needs to know, in a picklable form: the parallel scan rebuilds checkers from it
in its worker processes."""

from __future__ import annotations

from dataclasses import dataclass

from tailor.datasets.conversation import ConversationChecker
from tailor.datasets.cpt import CptChecker
from tailor.datasets.report import IssueCollector
from tailor.jobs.catalog import Technique, resolve_model

Checker = ConversationChecker | CptChecker


@dataclass(frozen=True, slots=True)
class CheckerSpec:
    model: str  # alias or id (already known to resolve)
    technique: Technique
    dataset_bucket: str | None  # None: a local dataset
    files: tuple[str, ...]  # display names, training first

    def build(self, issues: IssueCollector, part: int | None = None) -> Checker:
        """A checker; ``part``: the piece of a file a parallel scan's worker scans."""
        if self.technique is Technique.CONTINUED_PRE_TRAINING:
            return CptChecker(issues, files=list(self.files), part=part)
        nova = resolve_model(self.model)
        return ConversationChecker(
            nova,
            self.technique,
            nova.limits_for(self.technique),
            issues,
            dataset_bucket=self.dataset_bucket,
            files=list(self.files),
            part=part,
        )
