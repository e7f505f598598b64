"""What every explorer shares: controls declared as a list, one layout, one fast redraw.

An explorer is
- `controls()`: a list of control specs (`Slider`, `Choice`, `Checkbox`), built into ipywidgets
  by `make_control` and laid out by `layout` (the controls, then the figure, then a readout);
- `compute(params) -> dict`: the numbers for one setting of the controls, from a function of
  `helpers.experiments`; never a widget or a figure, so tests and notebooks can call it; a pure
  function of the control values, so a setting seen before is shown from a cache (`redraw`);
- a view: ONE matplotlib figure made once (`setup_figure`) with `matplotlib.figure.Figure` (not
  pyplot, so Jupyter never shows it a second time), whose artists `draw(result)` updates in place;
  it is rendered to PNG bytes in an `ipywidgets.Image`, next to `readout_html(result)`.

Crisp and steady: the figure is drawn at PIXEL_RATIO (2) times the pixels it is shown at, and
the image is shown at its CSS size (FIGSIZE x CSS_DPI), never stretched; the readout has one
line per part and a fixed height, so the box does not grow or jump while a slider moves.

A picture before the kernel runs: the explorer displays itself as ONE output whose bundle holds
the live widget view and, beside it, a PNG of the figure with the readout under it (and the
readout as text/plain). JupyterLab with a live kernel shows the widget; an unrun or untrusted
notebook, GitHub, nbviewer and `jupyter nbconvert --to html` show the picture (as long as the
stored notebook carries no widget state: execute with
`--ExecutePreprocessor.store_widget_state=False`, tests/test_explorers.py checks it).

Every explorer exposes `sliders` (its controls by name), `result` (the last compute), `image`,
`readout`, `redraw_ms` (how long each redraw took, kernel side) and `widget` (the whole box); it
displays itself when it is the last expression of a cell.
"""

import base64
import html
import io
import math
import re
import struct
import time
import zlib
from typing import NamedTuple

try:  # Intel's ISA-L deflate: a valid zlib stream as small as zlib's level 1, in a fifth of the
    # time (a redraw encodes a ~4 MB frame: 12 -> 2.5 ms measured, benchmarks/bench_redraw.py)
    from isal import isal_zlib as fast_zlib
except ImportError:  # no isal wheel for this platform (e.g. macOS on Intel): the same PNG, slower
    fast_zlib = zlib

import ipywidgets as widgets
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["Checkbox", "Choice", "Explorer", "Slider", "join", "layout", "make_control",
           "number"]


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
            # Buttons as wide as their text (style.button_width), and the label beside them as
            # for the sliders: the widget's box is not a flex row by default, so its label
            # would sit above the buttons.
            longest = max(len(str(option)) for option in spec.options)
            style = {**style, "button_width": f"{0.65 * longest + 2.2:.1f}em"}
            return widgets.ToggleButtons(options=spec.options, value=spec.value,
                                         description=spec.description, style=style,
                                         layout=widgets.Layout(display="flex", width="auto",
                                                               align_items="center"))
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


def remember(cache, key, value, size):
    """cache[key] = value, dropping the oldest entry when the cache holds `size` already."""
    if len(cache) >= size:
        cache.pop(next(iter(cache)))
    cache[key] = value


def png_bytes(pixels, small=False):
    """pixels: (height, width, 3) RGB or (height, width, 4) RGBA, uint8 -> PNG bytes, made for
    speed (a redraw sends one), or with small=True for size (the picture stored once).

    RGBA is encoded as it comes, alpha channel included: the canvas's buffer is RGBA, and
    dropping its (opaque) alpha would cost a strided copy that takes as long as compressing
    (measured on notebook 02's 1536 x 736 figure: 9 ms of 19), for a file only ~15% smaller.
    No per-row filter and the fastest deflate level: plots are mostly flat colour, which
    compresses well without filtering (the Sub and Up filters gave files no smaller at level 1).
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be a (height, width, 3 or 4) uint8 array, got shape "
                         f"{pixels.shape} and dtype {pixels.dtype}")
    height, width, channels = pixels.shape
    rows = np.zeros((height, 1 + channels * width), dtype=np.uint8)  # each row: filter 0, pixels
    rows[:, 1:] = pixels.reshape(height, channels * width)  # one contiguous copy per row

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    colour_type = 6 if channels == 4 else 2  # PNG's codes for 8-bit RGBA and RGB
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)  # no interlace
    pixel_data = zlib.compress(rows, 9) if small else fast_zlib.compress(rows, 1)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", pixel_data) + chunk(b"IEND", b""))


def number(value, spec):
    """format(value, spec) without a negative zero: -0.001 with ".2f" reads "0.00", not "-0.00"."""
    text = format(value, spec)
    if text.startswith("-") and not any(c in "123456789" for c in text.split("e")[0]):
        return text[1:]
    return text


# ----------------------------------------------------------------------------- the base class
class Explorer:
    """Base class: declared controls + compute + one figure updated in place + readout.

    Subclasses set FIGSIZE (and LABEL_WIDTH, CONTROL_WIDTH for their controls) and implement
    `controls()`, `compute(params)`, `setup_figure(figure)` (create the artists once),
    `dynamic_artists()`, `draw(result)` (update them) and `readout_html(result)`; optionally
    `static_key(result)`, `layer_artists()` with `layer_key(result)`, and a call to `warm_up`.
    A subclass sets its data attributes, then calls `super().__init__()`.
    """

    FIGSIZE = (9.0, 4.0)
    CSS_DPI = 80  # CSS pixels per inch of FIGSIZE: the size the figure is shown at
    PIXEL_RATIO = 2  # drawn at 2 x the CSS pixels: sharp on high-density screens too
    READOUT_LINE = 1.45  # em, the height of one readout line
    LABEL_WIDTH = "8em"
    CONTROL_WIDTH = "32em"
    MAX_BACKGROUNDS = 16
    MAX_PICTURES = 32  # settings kept (PNG + result, 0.1-0.3 MB each), the oldest dropped first

    def __init__(self):
        specs = list(self.controls())
        if not specs:
            raise TypeError(f"{type(self).__name__}.controls() declared no control")
        self.sliders = {spec.name: make_control(spec, self.LABEL_WIDTH, self.CONTROL_WIDTH)
                        for spec in specs}
        self.figure = Figure(figsize=self.FIGSIZE, dpi=self.CSS_DPI * self.PIXEL_RATIO,
                             layout="none")
        FigureCanvasAgg(self.figure)  # draw off-screen, never through pyplot
        width, height = self.css_size()
        # Shown at its CSS size, so never stretched; narrower only if the page is.
        self.image = widgets.Image(format="png", layout=widgets.Layout(
            width=f"{width}px", height=f"{height}px", max_width="100%", object_fit="contain"))
        self.readout = widgets.HTML(layout=widgets.Layout(width=f"{width}px", max_width="100%"))
        self.redraw_ms = []
        self.result = None
        self.setup_figure(self.figure)
        for artist in [*self.layer_artists(), *self.dynamic_artists()]:
            artist.set_animated(True)
        self._backgrounds = {}  # static_key -> rendered background (axes, ticks, labels)
        self._layers = {}  # (static_key, layer_key) -> background + layer artists
        self._background_key = object()  # the key of the background shown last; none yet
        self._pictures = {}  # tuple of (control, value) -> (result, PNG bytes)
        for control in self.sliders.values():
            control.observe(self._on_change, names="value")
        self.widget = layout(self.sliders.values(), self.image, self.readout)
        self.redraw()
        # Fixed height: as many lines as the first readout has parts (see `join`).
        lines = self.readout.value.count("<div")
        self.readout.layout.height = f"{self.READOUT_LINE * max(lines, 1) + 0.3:.2f}em"

    def css_size(self):
        """(width, height) in CSS pixels the figure is shown at."""
        return round(self.FIGSIZE[0] * self.CSS_DPI), round(self.FIGSIZE[1] * self.CSS_DPI)

    def params(self):
        """The current control values, {name: value}."""
        return {name: control.value for name, control in self.sliders.items()}

    def redraw(self):
        """Recompute from the controls, update the artists, re-render the PNG and the readout.

        A setting seen before comes from a cache of pictures (controls move in steps, so a
        student dragging back and forth or clicking between two options meets the same
        settings again): its result and PNG are looked up, not computed and rendered, which is
        most of a redraw's time. `draw` still runs, so the figure always shows `result`.
        """
        start = time.perf_counter()
        params = self.params()
        setting = tuple(params.items())
        if setting in self._pictures:
            self.result, png = self._pictures[setting]
            self.draw(self.result)
            self._background_key = self.static_key(self.result)
        else:
            self.result = self.compute(params)
            self.draw(self.result)
            png = self._render_png(self.static_key(self.result), self.layer_key(self.result))
            remember(self._pictures, setting, (self.result, png), self.MAX_PICTURES)
        self.image.value = png
        self.readout.value = self.readout_html(self.result)
        self.redraw_ms.append(1000.0 * (time.perf_counter() - start))

    def _render_png(self, key, layer_key=None):
        """The figure as PNG bytes, redrawing only what changes ("blitting").

        Axes, ticks and labels are most of the drawing time and rarely change, so they are drawn
        once into a cached background (redrawn only when `static_key` changes); each update
        restores that background and draws just the dynamic artists on top. Explorers with
        `layer_artists` (slow to draw, changed by some controls only) also cache the background
        with those drawn on it, per `layer_key`.
        """
        canvas = self.figure.canvas
        layered = bool(self.layer_artists())
        if layered and (key, layer_key) in self._layers:
            canvas.restore_region(self._layers[key, layer_key])
        else:
            if key not in self._backgrounds:
                canvas.draw()  # layer and dynamic artists are marked animated: skipped here
                # One background per key: toggling back (e.g. to an activation seen before)
                # then costs a restore, not a full draw (measured ~400 -> ~50 ms).
                remember(self._backgrounds, key, canvas.copy_from_bbox(self.figure.bbox),
                         self.MAX_BACKGROUNDS)
            else:
                canvas.restore_region(self._backgrounds[key])
            if layered:
                for artist in self.layer_artists():
                    self.figure.draw_artist(artist)
                remember(self._layers, (key, layer_key),
                         canvas.copy_from_bbox(self.figure.bbox), self.MAX_BACKGROUNDS)
        self._background_key = key
        for artist in self.dynamic_artists():
            self.figure.draw_artist(artist)
        return png_bytes(np.asarray(canvas.buffer_rgba()))  # RGBA as the canvas holds it

    def warm_up(self, settings):
        """Draw now the background of each setting in `settings` (a list of {control: value}),
        so that the first visit to it costs a restore, not a full draw at the figure's
        resolution (several hundred ms on a slow machine); its picture is kept too, so the
        first visit to that very setting is a look-up. The figure shown does not change."""
        for change in settings:
            params = {**self.params(), **change}
            result = self.compute(params)
            self.draw(result)
            png = self._render_png(self.static_key(result), self.layer_key(result))
            remember(self._pictures, tuple(params.items()), (result, png), self.MAX_PICTURES)
        self.draw(self.result)
        self._background_key = self.static_key(self.result)  # the one the image shows

    def _on_change(self, change):
        self.redraw()

    def static_png(self):
        """PNG bytes of the figure as it is now with the readout under it, as text: the picture
        an unrun notebook shows. Drawn at PIXEL_RATIO x the CSS size, like the live figure."""
        canvas = self.figure.canvas
        canvas.draw()  # the background; then the animated (layer and dynamic) artists on it
        for artist in [*self.layer_artists(), *self.dynamic_artists()]:
            self.figure.draw_artist(artist)
        figure_rgb = np.asarray(canvas.buffer_rgba())[..., :3].copy()
        lines = readout_lines(self.readout.value)
        band = Figure(figsize=(self.FIGSIZE[0], 0.05 + 0.2 * len(lines)), dpi=self.figure.dpi)
        FigureCanvasAgg(band)
        for i, line in enumerate(lines):
            band.text(0.01, 1 - (i + 0.5) / len(lines), line, fontsize=9.5, va="center",
                      ha="left", family="DejaVu Sans")
        band.canvas.draw()
        band_rgb = np.asarray(band.canvas.buffer_rgba())[..., :3]
        return png_bytes(np.vstack([figure_rgb, band_rgb]), small=True)

    def _repr_mimebundle_(self, **kwargs):
        """The widget view, and the static picture beside it for frontends without a kernel."""
        data = dict(self.widget._repr_mimebundle_(**kwargs))
        png = self.static_png()
        width = self.css_size()[0]
        height = round(PIL.Image.open(io.BytesIO(png)).height / self.PIXEL_RATIO)
        data["image/png"] = base64.b64encode(png).decode("ascii")
        data["text/plain"] = (f"{type(self).__name__}: "
                              + "; ".join(readout_lines(self.readout.value))
                              + "\n(a picture at the default setting; run the notebook to move "
                              "the controls)")
        return data, {"image/png": {"width": width, "height": height}}

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

    def layer_artists(self):
        """Optional: artists slow to draw that only some controls change (e.g. a shaded image),
        drawn over the background and cached with it per `layer_key`."""
        return []

    def layer_key(self, result):
        """Anything hashable that changes exactly when the layer artists do."""
        return None


_LINE = ('<div style="line-height: {height}em; white-space: nowrap; overflow: hidden; '
         'text-overflow: ellipsis">{part}</div>')


def join(parts):
    """The readout: one line per part, never wrapped (too long a line ends in "..."), so the
    readout keeps its height while the numbers change."""
    return "".join(_LINE.format(height=Explorer.READOUT_LINE, part=part) for part in parts)


def readout_lines(readout):
    """The readout's lines as plain text (tags dropped, entities decoded)."""
    parts = re.findall(r"<div[^>]*>(.*?)</div>", readout, flags=re.S) or [readout]
    return [html.unescape(re.sub(r"<[^>]+>", "", part)).strip() for part in parts]
