"""A textual-plotext plot whose figure can be built off the UI thread.

textual-plotext builds the figure (plotext's pure-Python matrix, then the ANSI text parsed
back) inside ``render``, on the UI thread: 20-30 ms a plot at 80x30, so the chart's two
plots held the screen for 40-60 ms four times a second, and a key pressed then waited for
them (bench/ui_pty.py's worst keys). With :attr:`BuiltPlot.apart` a figure is set up on the
UI thread as before, then built in a worker thread into a ``Text``, which the UI thread
shows when it is done; the worker touches no widget. Off by default: Pilot tests and
snapshots read the chart right after a redraw, and a built-apart figure comes a moment later.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot


class BuiltPlot(PlotextPlot):
    """A :class:`PlotextPlot` drawn from a fresh figure each time (:meth:`figure`, then
    :meth:`show_figure`), built on the UI thread or, with :attr:`apart`, in a worker."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: Built in a worker (the app sets it for the one app of a process, make_app's).
        self.apart = False
        self._built: Text | None = None
        self._asked = 0  # figures handed to a worker
        self._shown = 0  # the newest of them on screen

    def figure(self) -> Plot:
        """A blank figure to set up; :meth:`show_figure` shows it."""
        plot = Plot()
        plot.clear_figure()
        return plot

    def show_figure(self, plot: Plot) -> None:
        """Show ``plot``: sized and themed here, built here or in a worker."""
        if not self.apart:
            self._plot = plot
            self._built = None
            self.refresh()
            return
        size = self.size
        plot.plotsize(size.width, size.height)
        plot._set_size(size.width, size.height)  # as PlotextPlot.render does, see there
        plot.theme(self._get_plotext_theme_name(self.app.theme))
        self._asked += 1
        asked = self._asked
        self.run_worker(
            lambda: self._build(plot, asked), thread=True, group="figure",
            exit_on_error=False,
        )  # fmt: skip

    def _build(self, plot: Plot, asked: int) -> None:
        """In the worker: the figure as text; shown by the UI thread."""
        text = Text.from_ansi(plot.build())
        self.app.call_from_thread(self._take, text, asked)

    def _take(self, text: Text, asked: int) -> None:
        if asked > self._shown:  # a slower, older build must not replace a newer one
            self._shown = asked
            self._built = text
            self.refresh()

    def render(self) -> RenderResult:
        if not self.apart:
            return super().render()
        return self._built if self._built is not None else Text("")
