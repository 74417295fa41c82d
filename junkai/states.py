"""The vocabularies of what became of things, one enum each, shared by the steps that set them and
the store that keeps them. Values are the strings stored and shown in JSON, so a StrEnum member
and its string compare equal and old rows read the same.

The reading of a page has its own status (`junkai.readings.PageStatus`: what the reader saw);
these say what the pipeline did with it afterwards.
"""

from __future__ import annotations

from enum import StrEnum


class PageState(StrEnum):
    """What reconciling one read page did (junkai.reconcile)."""
    APPLIED = "applied"  # matched to a card; its sure values applied (maybe none)
    WAITING = "waiting"  # its premises waits for a person (unknown card, blank card)
    DUPLICATE = "duplicate"  # the same sheet of the same printed card was recorded already
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to read (blank page, back side)


# a printed card's sheet stands for one page only while that page is applied or waiting
CLAIMED = (PageState.APPLIED, PageState.WAITING)


class ReviewStatus(StrEnum):
    """Where a review item stands (junkai.review)."""
    PENDING = "pending"
    ACCEPTED = "accepted"  # the reading as it was
    CORRECTED = "corrected"  # a value a person typed
    REJECTED = "rejected"


DECIDED = (ReviewStatus.ACCEPTED, ReviewStatus.CORRECTED)  # values that reach the card


class StepState(StrEnum):
    """How a step of the nightly batch ended (junkai.nightly)."""
    DONE = "done"
    NOTHING = "nothing"  # nothing to do
    SKIPPED = "skipped"  # done already by an earlier run of the same night
    FAILED = "failed"
