"""The examples in tui/'s docstrings hold (pytest collects doctests under core/ only)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "tui.timefmt",
    "tui.widgets.sparkline",
    "tui.widgets.detail_chart",
    "tui.widgets.status_bar",
    "tui.widgets.raw_lines",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
