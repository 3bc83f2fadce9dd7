"""The examples in tui/'s docstrings hold (pytest collects doctests under core/ only)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "sensorscope.tui.timefmt",
    "sensorscope.tui.widgets.sparkline",
    "sensorscope.tui.widgets.detail_chart",
    "sensorscope.tui.chart_view",
    "sensorscope.tui.widgets.status_bar",
    "sensorscope.tui.widgets.raw_lines",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
