"""What every explorer shares: controls declared as a list, one layout, one fast redraw.

An explorer is
- `controls()`: a list of control specs (`Slider`, `Choice`, `Checkbox`), built into ipywidgets
  by `make_control` and laid out by `layout` (the controls, then the figure, then a readout);
- `compute(params) -> dict`: the numbers for one setting of the controls, from a function of
  `helpers.experiments`; never a widget or a figure, so tests and notebooks can call it;
- a view: ONE matplotlib figure made once (`setup_figure`) with `matplotlib.figure.Figure` (not
  pyplot, so Jupyter never shows it a second time), whose artists `draw(result)` updates in place;
  it is rendered to PNG bytes in an `ipywidgets.Image`, next to `readout_html(result)`.

Every explorer exposes `sliders` (its controls by name), `result` (the last compute), `image`,
`readout`, `redraw_ms` (how long each redraw took, kernel side) and `widget` (the whole box); it
displays itself when it is the last expression of a cell.
"""

import io
import math
import time
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["Checkbox", "Choice", "Explorer", "Slider", "join", "layout", "make_control"]


# ----------------------------------------------------------------------------- control specs
class Slider(NamedTuple):
    """A slider over numbers from `low` to `high`; with log=True, over powers of ten (then `step`
    is in powers of ten too)."""

    name: str
    description: str
    value: float
    low: float
    high: float
    step: float
    log: bool = False
    readout_format: str | None = None


class Choice(NamedTuple):
    """One of `options`, shown as a selection slider or, with buttons=True, as toggle buttons."""

    name: str
    description: str
    options: tuple
    value: object
    buttons: bool = False


class Checkbox(NamedTuple):
    """A yes / no box."""

    name: str
    description: str
    value: bool = False


def make_control(spec, label_width="8em", width="32em"):
    """The ipywidget for one control spec; labels `label_width` wide, the control `width` wide
    (toggle buttons take the width their options need)."""
    style = {"description_width": label_width}
    size = widgets.Layout(width=width)
    if isinstance(spec, Slider):
        extra = {} if spec.readout_format is None else {"readout_format": spec.readout_format}
        if spec.log:
            return widgets.FloatLogSlider(
                value=spec.value, base=10, min=math.log10(spec.low), max=math.log10(spec.high),
                step=spec.step, description=spec.description, style=style, layout=size, **extra)
        return widgets.FloatSlider(value=spec.value, min=spec.low, max=spec.high, step=spec.step,
                                   description=spec.description, style=style, layout=size,
                                   **extra)
    if isinstance(spec, Choice):
        if spec.buttons:
            return widgets.ToggleButtons(options=spec.options, value=spec.value,
                                         description=spec.description, style=style)
        return widgets.SelectionSlider(options=spec.options, value=spec.value,
                                       description=spec.description, style=style, layout=size)
    if isinstance(spec, Checkbox):
        return widgets.Checkbox(value=spec.value, description=spec.description, style=style,
                                layout=size)
    raise TypeError(f"a control spec must be a Slider, Choice or Checkbox; got {spec!r}")


def layout(controls, image, readout):
    """The explorer's box: its controls, the figure under them, the readout under the figure.

    The controls, image and readout are direct children of one VBox (the browser tests and the
    latency benchmark find an explorer as `.widget-vbox:has(> img.widget-image)`).
    """
    return widgets.VBox([*controls, image, readout])


# ----------------------------------------------------------------------------- the base class
class Explorer:
    """Base class: declared controls + compute + one figure updated in place + readout.

    Subclasses set FIGSIZE (and LABEL_WIDTH, CONTROL_WIDTH for their controls) and implement
    `controls()`, `compute(params)`, `setup_figure(figure)` (create the artists once),
    `dynamic_artists()`, `draw(result)` (update them) and `readout_html(result)`; optionally
    `static_key(result)`. A subclass sets its data attributes, then calls `super().__init__()`.
    """

    FIGSIZE = (9.0, 4.0)
    DPI = 80
    LABEL_WIDTH = "8em"
    CONTROL_WIDTH = "32em"
    MAX_BACKGROUNDS = 16

    def __init__(self):
        specs = list(self.controls())
        if not specs:
            raise TypeError(f"{type(self).__name__}.controls() declared no control")
        self.sliders = {spec.name: make_control(spec, self.LABEL_WIDTH, self.CONTROL_WIDTH)
                        for spec in specs}
        self.figure = Figure(figsize=self.FIGSIZE, dpi=self.DPI, layout="none")
        FigureCanvasAgg(self.figure)  # draw off-screen, never through pyplot
        self.image = widgets.Image(format="png")
        self.readout = widgets.HTML()
        self.redraw_ms = []
        self.result = None
        self.setup_figure(self.figure)
        for artist in self.dynamic_artists():
            artist.set_animated(True)
        self._backgrounds = {}  # static_key -> rendered background (axes, ticks, labels)
        self._background_key = object()  # the key of the background shown last; none yet
        for control in self.sliders.values():
            control.observe(self._on_change, names="value")
        self.widget = layout(self.sliders.values(), self.image, self.readout)
        self.redraw()

    def params(self):
        """The current control values, {name: value}."""
        return {name: control.value for name, control in self.sliders.items()}

    def redraw(self):
        """Recompute from the controls, update the artists, re-render the PNG and the readout."""
        start = time.perf_counter()
        self.result = self.compute(self.params())
        self.draw(self.result)
        self.image.value = self._render_png(self.static_key(self.result))
        self.readout.value = self.readout_html(self.result)
        self.redraw_ms.append(1000.0 * (time.perf_counter() - start))

    def _render_png(self, key):
        """The figure as PNG bytes, redrawing only what changes ("blitting").

        Axes, ticks and labels are most of the drawing time and rarely change, so they are drawn
        once into a cached background (redrawn only when `static_key` changes); each update
        restores that background and draws just the dynamic artists on top.
        """
        canvas = self.figure.canvas
        if key not in self._backgrounds:
            canvas.draw()  # dynamic artists are marked animated, so this skips them
            # Keep one background per key: toggling back (e.g. to an activation seen before)
            # then costs a restore, not a full draw (measured ~400 -> ~50 ms).
            if len(self._backgrounds) >= self.MAX_BACKGROUNDS:
                self._backgrounds.pop(next(iter(self._backgrounds)))
            self._backgrounds[key] = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._backgrounds[key])
        self._background_key = key
        for artist in self.dynamic_artists():
            self.figure.draw_artist(artist)
        # The figure is opaque, so RGB loses nothing; zlib level 1 halves the encoding time of
        # the default level at about the same size (measured: 6.5 vs 11.7 ms, 71 kB both).
        buffer = io.BytesIO()
        rgb = np.asarray(canvas.buffer_rgba())[..., :3]
        PIL.Image.fromarray(rgb).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def _on_change(self, change):
        self.redraw()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # To be provided by each explorer.
    def controls(self):
        """The controls, in the order shown: a list of Slider, Choice and Checkbox specs."""
        raise NotImplementedError

    def compute(self, params):
        """The numbers for {control name: value}; no widgets, no drawing."""
        raise NotImplementedError

    def setup_figure(self, figure):
        raise NotImplementedError

    def draw(self, result):
        raise NotImplementedError

    def readout_html(self, result):
        raise NotImplementedError

    def dynamic_artists(self):
        """The artists `draw` changes, drawn on top of the cached background in this order."""
        raise NotImplementedError

    def static_key(self, result):
        """Anything hashable; the background (axes, labels) is redrawn when it changes."""
        return ()


def join(parts):
    """Readout parts separated by a spaced bar."""
    return " &nbsp;|&nbsp; ".join(parts)
