"""docs/recipes/*.yaml: complete templates a user deploys next to Tailor to subscribe to its events.

Each one must pass cfn-lint (errors and warnings), keep the house rules that apply to a subscriber
(rule targets with DLQ + retry, queue/topic/function access scoped to the rule, encrypted queues,
14-day DLQs, no wildcard IAM), and subscribe only to detail-types of the catalog with their source.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from infra_rules import (
    Template,
    as_list,
    check_dlq_retention,
    check_iam_statements,
    check_queue_encryption,
    check_queues_have_dlq,
    check_resource_policies,
    check_rule_queue_policies,
    check_rule_targets,
    props,
    resources_of,
    target_id,
)

from tailor.events.catalog import CATALOG
from tailor.local.sam_transform import load_template

pytestmark = pytest.mark.infra

RECIPES = Path(__file__).resolve().parents[2] / "docs" / "recipes"
FILES = sorted(RECIPES.glob("*.yaml"))
# Receiving side of a cross-account recipe: it runs in the other account, so it has no Tailor bus.
RECEIVERS = {"to-another-account-receiver.yaml"}


def _lint(text: str) -> list[str]:
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    matches = lint(text, config=ManualArgs(regions=["us-east-1"]))
    return [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches if m.rule.id[0] in "EW"]


def _ids(path: Path) -> str:
    return path.name


def test_the_recipes_exist() -> None:
    names = {f.name for f in FILES}
    assert {"job-completed-to-email.yaml", "job-events-to-lambda.yaml", "to-another-account.yaml"} <= names


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_recipe_passes_cfn_lint(path: Path) -> None:
    assert _lint(path.read_text(encoding="utf-8")) == []


def test_cfn_lint_catches_a_broken_recipe() -> None:
    text = FILES[0].read_text(encoding="utf-8").replace("Type: AWS::SNS::Topic", "Type: AWS::SNS::Topick")
    assert _lint(text)


HOUSE_RULES: dict[str, Callable[[Template], list[str]]] = {
    "rule_targets": check_rule_targets,
    "rule_queue_policies": check_rule_queue_policies,
    "queue_encryption": check_queue_encryption,
    "queues_have_dlq": check_queues_have_dlq,
    "dlq_retention": check_dlq_retention,
    "iam_statements": check_iam_statements,
    "resource_policies": check_resource_policies,
}


@pytest.mark.parametrize("rule", sorted(HOUSE_RULES))
@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_recipe_keeps_the_house_rules(path: Path, rule: str) -> None:
    assert HOUSE_RULES[rule](load_template(path)) == []


def _rules(template: Template) -> dict[str, dict[str, Any]]:
    return resources_of(template, "AWS::Events::Rule")


@pytest.mark.parametrize("path", [f for f in FILES if f.name not in RECEIVERS], ids=_ids)
def test_recipe_subscribes_on_the_tailor_bus_given_as_a_parameter(path: Path) -> None:
    template = load_template(path)
    assert "TailorBusName" in (template.get("Parameters") or {})
    rules = _rules(template)
    assert rules
    for lid, rule in rules.items():
        assert props(rule).get("EventBusName") == {"Ref": "TailorBusName"}, lid


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_recipe_patterns_name_catalog_events_with_their_source(path: Path) -> None:
    known = {spec.detail_type.value: spec.source.value for spec in CATALOG.values()}
    for lid, rule in _rules(load_template(path)).items():
        pattern = props(rule).get("EventPattern") or {}
        sources = set(as_list(pattern.get("source")))
        assert sources and sources <= set(known.values()), f"{lid}: sources {sources}"
        for detail_type in as_list(pattern.get("detail-type")):
            assert detail_type in known, f"{lid}: {detail_type!r} is not a Tailor detail-type"
            assert known[detail_type] in sources, f"{lid}: {detail_type} comes from {known[detail_type]}"


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_recipe_targets_are_reachable_only_from_their_rule(path: Path) -> None:
    """A Lambda target has a Permission for events.amazonaws.com with the rule's SourceArn; an SNS
    target a topic policy scoped by aws:SourceArn; another account's bus (a parameter) a role of
    the recipe (EventBridge needs RoleArn for cross-account bus targets)."""
    template = load_template(path)
    permissions = resources_of(template, "AWS::Lambda::Permission").values()
    topic_policies = resources_of(template, "AWS::SNS::TopicPolicy").values()
    functions = resources_of(template, "AWS::Lambda::Function")
    topics = resources_of(template, "AWS::SNS::Topic")
    for rule_lid, rule in _rules(template).items():
        for target in as_list(props(rule).get("Targets")):
            tid = target_id(target.get("Arn"))
            if tid in functions:
                assert any(
                    target_id(props(p).get("FunctionName")) == tid
                    and props(p).get("Principal") == "events.amazonaws.com"
                    and target_id(props(p).get("SourceArn")) == rule_lid
                    for p in permissions
                ), f"{rule_lid}: no Lambda Permission for {tid} scoped to the rule"
            elif tid in topics:
                scoped = [
                    stmt
                    for pol in topic_policies
                    if tid in {target_id(t) for t in as_list(props(pol).get("Topics"))}
                    for stmt in as_list(props(pol)["PolicyDocument"].get("Statement"))
                    if target_id((stmt.get("Condition") or {}).get("ArnEquals", {}).get("aws:SourceArn"))
                    == rule_lid
                ]
                assert scoped, f"{rule_lid}: no topic policy for {tid} scoped by aws:SourceArn"
            elif tid not in (template.get("Resources") or {}):  # another account's bus, by parameter
                role = target_id(target.get("RoleArn"))
                assert role in resources_of(template, "AWS::IAM::Role"), f"{rule_lid}: {tid} needs a RoleArn"
