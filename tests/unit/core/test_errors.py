"""The error tree: every EwsError lives in core/errors.py and is drawn in its docstring."""

from __future__ import annotations

import inspect
import re

from ews.core import errors
from ews.core.errors import EwsError


def _classes() -> dict[str, type]:
    return {name: cls for name, cls in inspect.getmembers(errors, inspect.isclass)
            if issubclass(cls, EwsError) and cls.__module__ == errors.__name__}


def test_the_docstring_draws_every_error_of_the_module() -> None:
    drawn = re.findall(r"^\s+(?:[│ ]*[├└]── )?([A-Z]\w+)\s{2,}", errors.__doc__ or "", re.M)
    assert sorted(drawn) == sorted(_classes())


def test_the_drawing_shows_each_error_under_its_base() -> None:
    depth: dict[str, int] = {}
    parents: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^ {4}((?:[│ ] {3})*)(?:[├└]── )?([A-Z]\w+)\s", line)
        if not match or match.group(2) not in _classes():
            continue
        level = len(match.group(1)) // 4 + (1 if "──" in line else 0)
        del parents[level:]
        name = match.group(2)
        if parents:
            assert _classes()[name].__bases__[0].__name__ == parents[-1], name
        parents.append(name)
        depth[name] = level
    assert depth["EwsError"] == 0 and depth["NotAPdf"] == 2 and depth["SelectionError"] == 1


def test_the_decision_sheet_error_names_its_sheet_in_german() -> None:
    error = errors.DecisionSheetError(["Zeile 4: Az. fehlt."])
    assert str(error) == ("Die Tabelle „Entscheidungen“ wurde nicht übernommen, im Register ist "
                          "nichts geändert (1 Problem):\n- Zeile 4: Az. fehlt.")
