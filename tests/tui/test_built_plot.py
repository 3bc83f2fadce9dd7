"""The chart's figures built off the UI thread (what `watch` does): the same picture as
built on it, shown once the worker is done, and a slower old build never over a newer one.

A real Monitor replays the board recording; the app is the real app under Pilot, its plots
switched to building apart as make_app(own_process=True) switches them.
"""

from __future__ import annotations

from rich.text import Text
from tui_support import replay_ended, wait_for

from sensorscope.tui.app import make_app
from sensorscope.tui.widgets.built_plot import BuiltPlot

SIZE = (160, 48)


def drawn(plot: BuiltPlot) -> str:
    out = plot.render()
    return out.plain if isinstance(out, Text) else str(out)


async def test_a_figure_built_apart_is_the_figure_built_on_the_ui_thread(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_ended(app) and app.detail.shown is not None,
                       what="the replay's end on the chart")  # fmt: skip
        plots = list(app.query(BuiltPlot))
        assert len(plots) == 2
        await pilot.press("z")  # zoom in: a redraw
        await pilot.pause(0.1)
        on_thread = [drawn(p) for p in plots]
        # The value plot's line is braille (U+2800..U+28FF): a picture, not a blank.
        assert any(0x2800 < ord(c) <= 0x28FF for c in on_thread[0])
        for p in plots:
            p.apart = True
        before = [p._asked for p in plots]
        await pilot.press("z", "Z")  # in and out again: the same window, drawn apart
        await wait_for(
            pilot,
            lambda: all(p._shown == p._asked > b for p, b in zip(plots, before, strict=True)),
            what="the figures built apart",
        )
        assert [drawn(p) for p in plots] == on_thread


async def test_an_older_build_that_finishes_late_never_replaces_a_newer_one(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_ended(app), what="the replay's end")
        plot = app.query(BuiltPlot).first()
        plot.apart = True
        plot._asked = 2
        plot._take(Text("newer"), 2)
        plot._take(Text("older"), 1)
        assert drawn(plot) == "newer"
