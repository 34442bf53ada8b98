"""Reserved strings: exact, case-correct, and the fast check agrees with the obvious one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailor.datasets.reserved import RESERVED, all_reserved, first_reserved, has_reserved


@pytest.mark.parametrize("token", RESERVED)
def test_every_token_is_found(token: str) -> None:
    assert has_reserved(f"some prose {token} more prose")
    assert first_reserved(token) == token


@pytest.mark.parametrize(
    "prose",
    ["the user: a person", "assistant: helper", "bot: a robot", "system: the whole", "thought: an idea",
     "Users: many", "at 10:30", "<img>", "[eos]", "<Image>", "User :", "USER :", "[EOS ]", ""],
)  # fmt: skip
def test_ordinary_prose_passes(prose: str) -> None:
    assert not has_reserved(prose)


def test_many_colons_use_the_regex_path() -> None:
    assert not has_reserved("a:" * 100)
    assert has_reserved("a:" * 100 + "Thought:")


alphabet = st.sampled_from(list("UserBotAsistnmhug:<>[]EOSUSERTHOUGHT imagevdo"))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=alphabet, max_size=60) | st.text(max_size=60))
def test_fast_check_equals_naive(text: str) -> None:
    naive = any(token in text for token in RESERVED)
    assert has_reserved(text) is naive
    assert bool(all_reserved(text)) is naive
