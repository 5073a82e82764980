"""Which outcome an input gets (pure): the one rule, for every path an input can take.

An input read and validated gets ``outcome_for`` its assessment; an input that can only be
rejected (its mail unreadable or without a PDF, its reader failed, its attempts used up) is
given a ``rejection``, which ``outcome_for`` decides invalid. The register writes the outcome
in one place (``ews.register.inputs.set_outcome``).
"""

from __future__ import annotations

from ews.core.models import Assessment, Outcome


def outcome_for(assessment: Assessment, *, has_twin: bool, on_time: bool) -> Outcome:
    """The journal outcome of an input."""
    if has_twin:
        return Outcome.DUPLICATE
    if assessment.declaration is not None:
        return Outcome.DECLARATION  # may still turn invalid: an Az. we never issued
    if not assessment.is_valid:
        return Outcome.INVALID
    return on_time_outcome(on_time)


def rejection(*reasons: str) -> Assessment:
    """The assessment of an input that is decided invalid with these German reasons."""
    return Assessment(reasons=list(reasons))


def on_time_outcome(on_time: bool) -> Outcome:
    """The outcome of an application once its receipt is judged against the deadline."""
    return Outcome.REGISTERED if on_time else Outcome.LATE
