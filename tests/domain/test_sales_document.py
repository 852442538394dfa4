"""The cancellation's word in a document's Комментарий: added once, found and taken off wherever it stands."""

from __future__ import annotations

import pytest

from crm1c.domain.sales_document import CANCELLED_TAG, cancelled_by_crm1c, with_cancelled_tag


@pytest.mark.parametrize(
    "comment",
    ["", "crm1c:deal:5", "crm1c:deal:5 проверить\nоплату", "crm1c:deal:5  два пробела", "crm1c:deal:5\t"],
)
def test_the_word_goes_on_once_and_comes_off_leaving_the_comment_as_it_was(comment: str) -> None:
    marked = with_cancelled_tag(comment, True)
    assert cancelled_by_crm1c(marked) and with_cancelled_tag(marked, True) == marked
    assert with_cancelled_tag(marked, False) == comment


@pytest.mark.parametrize(
    "comment",
    [
        f"crm1c:deal:5\n{CANCELLED_TAG}",
        f"{CANCELLED_TAG}\tcrm1c:deal:5",
        f"crm1c:deal:5 {CANCELLED_TAG}\nпримечание",
    ],
)
def test_the_word_an_accountant_moved_to_another_line_still_comes_off(comment: str) -> None:
    assert cancelled_by_crm1c(comment)
    restored = with_cancelled_tag(comment, False)
    assert not cancelled_by_crm1c(restored) and "crm1c:deal:5" in restored


def test_a_longer_word_is_not_the_cancellation() -> None:
    comment = f"crm1c:deal:5 {CANCELLED_TAG}-нет"
    assert not cancelled_by_crm1c(comment) and with_cancelled_tag(comment, False) == comment
