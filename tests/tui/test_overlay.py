"""Several channels on one chart, and the value axis: auto, fixed, the channel's range.

A real Monitor replays the 3-channel board recording (temp ~21, hum ~40, pressure
~1013); channels are picked for the overlay in the table with Pilot, and what the chart
drew is read back from its widgets: the lines' colours in the value plot as rendered, the
legend, the cursor's line and the value axis.
"""

from __future__ import annotations

import numpy as np
from tui_support import replay_ended, wait_for

from sensorscope.model import Settings, ViewRequest
from sensorscope.tui.app import make_app
from sensorscope.tui.chart_view import OverlayScale, YScale
from sensorscope.tui.overlay import PALETTE, value_span
from sensorscope.tui.timefmt import fmt_value
from sensorscope.tui.widgets.channel_table import OVERLAY_MARK

SIZE = (160, 48)
ORANGE = 3  # plotext's "orange" (a terminal's colour 3), the first overlaid channel's line


def replay_done(app) -> bool:
    shown = app.detail.shown
    return replay_ended(app) and shown is not None and shown.held.samples >= 1200


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await pilot.pause(0.05)


async def select(pilot, app, channel: str) -> None:
    """Move the table's cursor onto ``channel`` and wait for its chart."""
    table = app.channel_table
    table.move_cursor(row=table.get_row_index(channel))
    await wait_for(
        pilot,
        lambda: app.selected == channel and app.detail.channel == channel,
        what=f"{channel}'s chart",
    )


def cells_in_colour(app, colour: int) -> int:
    """Cells of the value plot, as it renders now, drawn in this 256-colour."""
    text = app.detail.query_one("#value-plot").render()
    want = f"color({colour}) "  # the foreground; the background follows "on"
    return sum(span.end - span.start for span in text.spans if str(span.style).startswith(want))


def name_cell(app, channel: str) -> str:
    return app.channel_table.get_cell(channel, "name").plain


async def test_channels_picked_in_the_table_are_drawn_over_the_selected_one(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_done(app), timeout=30, what="the replay")
        await select(pilot, app, "hum")
        assert cells_in_colour(app, ORANGE) == 0
        await press(pilot, "o")
        assert app.detail.view.overlay == ["hum"]
        assert name_cell(app, "hum") == OVERLAY_MARK + "hum"  # marked in the table
        assert name_cell(app, "temp") == "temp"
        # hum alone selected: nothing is drawn over it yet.
        assert app.detail.overlays == ()

        await select(pilot, app, "temp")
        (hum,) = app.detail.overlays
        shown = app.detail.shown
        assert hum.name == "hum" and (hum.color, hum.style) == PALETTE[0]
        assert (hum.window.start, hum.window.end) == (shown.start, shown.end)
        assert cells_in_colour(app, ORANGE) > 0
        legend = app.detail.query_one("#chart-overlay")
        lo, hi = value_span(hum.window)
        assert legend.display and f"hum {fmt_value(lo)}…{fmt_value(hi)}" in str(legend.render())

        # The cursor reads the overlaid channel's value too, where the cursor stands.
        await press(pilot, "z", "z", "z", "z", "z", "c")
        at = app.detail.view.cursor
        near = app.monitor.window("hum", ViewRequest(span=1.0, end=at + 0.5, points=100))
        k = int(np.argmin(np.abs(near.t - at)))
        assert f"hum {fmt_value(float(near.last[k]))}" in app.detail.cursor_text
        await press(pilot, "c")

        # A second one: each its own colour; the selected channel is never drawn twice.
        await press(pilot, "o")  # temp
        assert app.detail.view.overlay == ["hum", "temp"]
        assert [o.name for o in app.detail.overlays] == ["hum"]
        await select(pilot, app, "pressure")
        assert [(o.name, o.color) for o in app.detail.overlays] == [
            ("hum", PALETTE[0][0]),
            ("temp", PALETTE[1][0]),
        ]
        # o on an overlaid channel takes it off; O takes them all off.
        await select(pilot, app, "hum")
        await press(pilot, "o")
        assert app.detail.view.overlay == ["temp"]
        assert name_cell(app, "hum") == "hum"
        await press(pilot, "O")
        assert app.detail.view.overlay == [] and app.detail.overlays == ()
        assert not legend.display and name_cell(app, "temp") == "temp"
        assert cells_in_colour(app, ORANGE) == 0


async def test_an_overlay_on_its_own_scale_keeps_the_axis_and_a_shared_one_holds_both(replay):
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_done(app), timeout=30, what="the replay")
        await select(pilot, app, "pressure")
        await press(pilot, "o")
        await select(pilot, app, "temp")
        alone = app.detail.ylim
        assert app.detail.view.overlay_scale is OverlayScale.OWN
        assert alone[1] < 100  # temp's own axis, ~21: pressure drawn on its own scale
        assert cells_in_colour(app, ORANGE) > 0
        await press(pilot, "Y")
        assert app.detail.view.overlay_scale is OverlayScale.SHARED
        lo, hi = app.detail.ylim
        p_lo, p_hi = value_span(app.detail.overlays[0].window)
        t_lo, t_hi = value_span(app.detail.shown)
        assert lo < t_lo and hi > p_hi  # one axis from temp's lowest to pressure's highest
        assert "over: " in str(app.detail.query_one("#chart-overlay").render())
        await press(pilot, "Y")
        assert app.detail.ylim == alone


async def test_y_holds_the_value_axis_or_takes_the_channels_range(monitors, board_rec, tmp_path):
    settings = Settings(limits={"temp": (-40.0, 125.0)})
    mon = monitors([board_rec], settings=settings, labels=str(tmp_path / "labels.jsonl"))
    app = make_app(mon)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay_done(app), timeout=30, what="the replay")
        await select(pilot, app, "temp")
        fitted = app.detail.ylim
        assert fitted[0] > 0  # fitted to temp's ~21
        await press(pilot, "y")
        assert app.detail.view.yscale is YScale.FIXED
        title = app.detail.query_one("#chart-title")
        assert "y fixed" in str(title.render())
        await press(pilot, "z", "z", "z")  # a shorter stretch: the axis stays where it was
        assert app.detail.ylim == fitted
        await press(pilot, "y")
        assert app.detail.view.yscale is YScale.RANGE
        lo, hi = app.detail.ylim
        assert lo < -40.0 < 125.0 < hi and "y range" in str(title.render())
        ticks = app.detail.query_one("#value-plot").render().plain
        assert "-40" in ticks and "125" in ticks  # the range's ends are the axis's labels
        await select(pilot, app, "hum")  # the range kept for a channel without one: auto
        assert app.detail.view.yscale is YScale.RANGE and app.detail.ylim[1] < 100
        assert "y auto (no --range)" in str(title.render())
        await select(pilot, app, "temp")
        await press(pilot, "y")
        assert app.detail.view.yscale is YScale.AUTO
        assert "y fixed" not in str(title.render()) and "y range" not in str(title.render())

        # hum has no --range: y goes auto -> fixed -> auto; another channel unfixes it.
        await select(pilot, app, "hum")
        await press(pilot, "y", "y")
        assert app.detail.view.yscale is YScale.AUTO
        await press(pilot, "y")
        await select(pilot, app, "pressure")
        assert app.detail.view.yscale is YScale.AUTO and app.detail.ylim[0] > 900
