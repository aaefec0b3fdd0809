"""The reply check: every number in an answer must come from the tools' results."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from guardrails.reply_check import check_reply


def test_a_hex_identifier_in_the_results_is_not_a_huge_number() -> None:
    # A finding id like 17641067e8676509 once read as 1.7e8676516 and crashed the check.
    sources = [{"id": "17641067e8676509", "monthly_saving": "883.24"}]
    ok = check_reply("Saves 883.24 USD per month.", sources)
    assert ok.grounded and ok.numbers == ["883.24"]
    made_up = check_reply("Saves 991.00 USD per month.", sources)
    assert not made_up.grounded and made_up.ungrounded == ["991.00"]


@settings(max_examples=200, deadline=None)
@given(leaf=st.text(alphabet="0123456789eE.-+", max_size=24), reply=st.text(max_size=40))
def test_the_check_never_raises_on_any_result_or_reply(leaf: str, reply: str) -> None:
    result = check_reply(reply, [{"value": leaf}])
    assert set(result.ungrounded) <= set(result.numbers)
