"""Rendered letters that are not digits: the corpus the image network is pretrained on (issue 18).

The paper's visual features come from Inception V3 pretrained on ImageNet, images and labels that
have nothing to do with VEGAS. The pretrained AV-digits regime mirrors that: the image network
(:class:`paper_lib.extract.image_net.ImageNet`) is trained on typeset letters, never on digits,
and only then embeds the MNIST digits of :mod:`paper_lib.data.avdigits`.

Classes (:data:`paper_lib.data.pretraining.letters.LETTERS`): 20 letter glyphs, each one case of
one letter, none a digit nor a letter that looks like one
(:data:`paper_lib.data.pretraining.letters.EXCLUDED`, checked by
:func:`paper_lib.data.pretraining.letters.check_disjoint`).

Fonts (:data:`paper_lib.data.pretraining.letters.FONTS`): only the TrueType fonts bundled with
matplotlib (``matplotlib.get_data_path()/fonts/ttf``), so the corpus does not depend on the fonts a
machine happens to have: it is the same wherever the same matplotlib and Pillow (FreeType)
versions are installed (:func:`paper_lib.data.pretraining.letters.renderer_versions` reports them,
for a cache key).

Per image of a letter (every draw from one ``np.random.Generator`` seeded by
``SeedSequence([seed, 18, 2])``: 18 the issue, 2 this corpus; [choice]), with the module's
constants ``FONT_SIZES``, ``STROKE_WIDTHS``, ``ROTATION_DEGREES``, ``SHEAR``, ``BOX_SIDE``:

1. font ~ U(``FONTS``), size ~ U{``FONT_SIZES``} px, outline ``stroke_width`` ~
   U{``STROKE_WIDTHS``} px; Pillow draws the glyph white on black, anti-aliased, centred on a
   square canvas three font sizes wide (``PIL.ImageDraw.ImageDraw.text``);
2. rotation ~ U[-``ROTATION_DEGREES``, +``ROTATION_DEGREES``] degrees and horizontal shear
   ~ U[-``SHEAR``, +``SHEAR``] (one affine map about the canvas centre, bilinear);
3. MNIST's normalisation (LeCun et al., the MNIST page: "size normalized to fit in a 20x20 pixel
   box while preserving their aspect ratio [...] grey levels as a result of the anti-aliasing
   [...] centered in a 28x28 image by computing the center of mass of the pixels, and
   translating the image so as to position this point at the center"): the glyph's bounding box
   is scaled so its longer side spans exactly ``BOX_SIDE`` = 20 px, by area averaging
   (Pillow's ``BOX`` filter: anti-aliased, no ringing, nothing outside the box), with a random
   sub-pixel shift ~ U[0, slack) of the shorter side inside its last, partly covered pixel
   (the only shift that survives the normalisation; see below); the grey levels are stretched so
   the brightest pixel is 255; the 20-px image is placed in the 28 x 28 frame by the whole-pixel
   translation that brings its centre of mass into [13.5, 14.5) on both axes (0-based pixel
   coordinates), MNIST's own convention (measured on the 5,000 MNIST digits of
   :func:`paper_lib.data.avdigits.load_mnist_images`: every centre of mass lies in
   [13.50, 14.50), every bounding box within 20 x 20, every image peaks at 254 or 255).

The result is white on black, uint8 0..255, as :func:`paper_lib.data.avdigits.load_mnist_images`
returns the digits the trained network will embed.

[choice] Shift: a translation before the normalisation is undone by it (the bounding box and the
centre of mass move with the glyph), and one after it would break the centring the MNIST digits
follow, so the glyph's position varies only as MNIST's does: the centre of mass anywhere in
[13.5, 14.5) and a random sub-pixel phase on the pixel grid.

[choice] A glyph whose centre of mass is so far from the middle of its 20-px box that no
translation puts it at the frame centre with the box inside the frame would be drawn again (font,
size, stroke, transform, from the same generator, so the corpus stays a function of the seed)
rather than placed off-centre. A safeguard: it happened in none of 20,000 images (seeds 0-4).

Measured on the 2-core build machine: 4,000 images (the default) in ~1.8 s, single-threaded.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paper_lib._optional import require
from paper_lib.errors import DataError, ParamError, check_int

#: [choice] the 20 classes: 16 capitals and 4 lower-case letters, one case per letter, none a
#: digit or a look-alike (:data:`paper_lib.data.pretraining.letters.EXCLUDED`). Only one case of a
#: letter whose two cases have the same shape (C/c, K/k, P/p, U/u, V/v, W/w, X/x, Y/y) is used:
#: MNIST's normalisation scales every glyph to the same 20-px box, so such a pair would be two
#: labels for one image. The lower-case a, e, m, n differ in shape from their capitals.
LETTERS: tuple[str, ...] = ("A", "C", "E", "F", "H", "K", "L", "M", "N", "P",
                            "R", "U", "V", "W", "X", "Y", "a", "e", "m", "n")

#: [choice] letters that look like a digit, never a class: letter -> (the digit, why). The
#: transform of step 2 rotates by up to 15 degrees and shears, never mirrors, so a letter that
#: resembles a digit only when mirrored (E and 3) stays allowed.
EXCLUDED: dict[str, tuple[str, str]] = {
    "O": ("0", "a closed oval"),
    "o": ("0", "a closed oval"),
    "D": ("0", "a closed round bowl"),
    "Q": ("0", "an oval with a small tail"),
    "I": ("1", "a single vertical stroke (with serifs, a 1)"),
    "l": ("1", "a single vertical stroke"),
    "i": ("1", "a vertical stroke with a dot"),
    "J": ("1", "a vertical stroke with a small hook"),
    "j": ("1", "a vertical stroke with a hook and a dot"),
    "Z": ("2", "a top bar, a diagonal and a base bar"),
    "z": ("2", "a top bar, a diagonal and a base bar"),
    "S": ("5", "an S-curve"),
    "s": ("5", "an S-curve"),
    "G": ("6", "a curve closing into a lower bowl"),
    "b": ("6", "a stem over a lower bowl"),
    "T": ("7", "a top bar over a stem (a 7 once rotated)"),
    "t": ("7", "a stem with a cross bar (a crossed 7 or a 1)"),
    "y": ("4", "two arms meeting a descender (an open-top 4)"),
    "B": ("8", "two stacked bowls"),
    "g": ("9", "a bowl over a hooked descender"),
    "q": ("9", "a bowl over a straight descender"),
}

#: [choice] matplotlib's bundled TrueType fonts with upright, slanted, bold, serif, sans-serif,
#: monospace, STIX and Computer Modern (TeX) designs; checked to render A-Z and a-z (the
#: Computer Modern files are the BaKoMa fonts, whose letters sit at their ASCII codes).
#: Left out: DejaVu{Sans,Serif}Display (23-50 glyphs for large display sizes), LastResortHE
#: (placeholder boxes), the math fonts (cmmi10, cmsy10, cmex10, STIXNonUni*, STIXSiz*).
FONTS: tuple[str, ...] = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmss10.ttf", "cmti10.ttf", "cmtt10.ttf", "cmb10.ttf",
)

IMAGE_SIDE = 28                    # MNIST's frame
BOX_SIDE = 20                      # MNIST's size-normalisation box
#: MNIST's centring: the centre of mass is translated into [CENTRE - 0.5, CENTRE + 0.5)
CENTRE = 14.0
DEFAULT_N_PER_LETTER = 200         # [choice] 4,000 images for 20 letters
#: [choice] font size in px (inclusive), before normalisation: a capital is 35-52 px high, so
#: step 3 shrinks it 1.7-2.6x by area averaging (anti-aliased); with the outline, the size sets
#: the stroke thickness relative to the glyph
FONT_SIZES = (48, 72)
#: [choice] outline width in px (inclusive): 0 keeps the font's strokes, 2 thickens a stem by
#: 4 px (0.08-0.11 of the capital height; MNIST pen strokes are ~0.1-0.2 of the 20-px box)
STROKE_WIDTHS = (0, 2)
ROTATION_DEGREES = 15.0            # [choice] as handwriting tilts; no letter turns into another
SHEAR = 0.2                        # [choice] horizontal shear factor, ~±11 degrees of slant
#: redraws allowed for one image before the corpus gives up (never reached in practice)
MAX_REDRAWS = 100


@dataclass(frozen=True)
class LetterCorpus:
    """The rendered letters: images, class labels and the class names.

    Attributes
    ----------
    images : numpy.ndarray
        (N, 28, 28) uint8, white on black, 0..255, MNIST-normalised (see
        :mod:`paper_lib.data.pretraining.letters`).
    labels : numpy.ndarray
        (N,) int64, the index of each image's letter in ``letters``. The images are grouped by
        letter: ``n_per_letter`` images of ``letters[0]``, then of ``letters[1]``, ...
    letters : tuple of str
        The class names (one character each).
    """

    images: np.ndarray
    labels: np.ndarray
    letters: tuple[str, ...]


def check_disjoint(letters: Iterable[str]) -> None:
    """Check that no class of ``letters`` is a digit or looks like one.

    Parameters
    ----------
    letters : iterable of str
        Class names; each must be one ASCII letter (``A-Z``, ``a-z``) that is not in
        :data:`paper_lib.data.pretraining.letters.EXCLUDED`, with no repeats.

    Raises
    ------
    paper_lib.errors.DataError
        Naming the offending class: a digit character (any Unicode digit), a digit look-alike
        (with the digit it resembles), anything that is not a single ASCII letter (a Cyrillic or
        Greek homoglyph of a Latin letter included), or a repeated class.
    """
    seen: set[str] = set()
    allowed = "one ASCII letter (A-Z, a-z) that is neither a digit nor one of the look-alikes " \
              f"{''.join(sorted(EXCLUDED))}"
    for letter in letters:
        if not isinstance(letter, str):
            raise DataError(f"letters: {letter!r} is not a string; each class must be {allowed}")
        if any(ch.isdigit() or ch.isnumeric() for ch in letter):
            raise DataError(f"letters: {letter!r} is a digit; the pretraining classes must be "
                            f"disjoint from the digits, each class {allowed}")
        if letter in EXCLUDED:
            digit, why = EXCLUDED[letter]
            raise DataError(f"letters: {letter!r} looks like the digit {digit} ({why}); each "
                            f"class must be {allowed}")
        if len(letter) != 1 or not (letter.isascii() and letter.isalpha()):
            raise DataError(f"letters: {letter!r} is not a single ASCII letter; each class must "
                            f"be {allowed}")
        if letter in seen:
            raise DataError(f"letters: {letter!r} is repeated; each class must appear once")
        seen.add(letter)


def font_dir() -> Path:
    """The folder of matplotlib's bundled TrueType fonts (``<get_data_path()>/fonts/ttf``)."""
    matplotlib = require("matplotlib", extra="data")
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_paths() -> tuple[Path, ...]:
    """The files of :data:`paper_lib.data.pretraining.letters.FONTS`, each checked to exist.

    Raises
    ------
    paper_lib.errors.DataError
        Naming the first missing font file and the folder searched.
    """
    folder = font_dir()
    paths = tuple(folder / name for name in FONTS)
    for path in paths:
        if not path.is_file():
            raise DataError(f"font file {path} not found: the letter corpus renders with "
                            f"matplotlib's bundled fonts {', '.join(FONTS)} (in {folder})")
    return paths


def renderer_versions() -> dict[str, str]:
    """The versions the rendered pixels depend on (for a cache key): matplotlib (the font files),
    Pillow and the FreeType library Pillow rasterises with."""
    require("matplotlib", extra="data")
    features = require("PIL.features", extra="data", package="pillow")
    return {"matplotlib": importlib.metadata.version("matplotlib"),
            "pillow": importlib.metadata.version("pillow"),
            "freetype2": str(features.version("freetype2"))}


@functools.cache
def _font(path: str, size: int) -> Any:
    """A loaded FreeType font (loading is the slow part of a small glyph's rendering)."""
    image_font = require("PIL.ImageFont", extra="data", package="pillow")
    try:
        return image_font.truetype(path, size)
    except OSError as err:
        raise DataError(f"font file {path} cannot be read: {err}") from err




def _render_glyph(letter: str, font_path: str, size: int, stroke: int, rotation: float,
                  shear: float) -> Any:
    """Steps 1-2: the transformed glyph, white on black, on a (3 size)^2 ``L``-mode canvas."""
    pil_image = require("PIL.Image", extra="data", package="pillow")
    image_draw = require("PIL.ImageDraw", extra="data", package="pillow")
    side = 3 * size
    canvas = pil_image.new("L", (side, side), 0)
    image_draw.Draw(canvas).text((side / 2, side / 2), letter, font=_font(font_path, size),
                                 fill=255, anchor="mm", stroke_width=stroke, stroke_fill=255)
    theta = np.deg2rad(rotation)
    forward = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]) \
        @ np.array([[1.0, shear], [0.0, 1.0]])                 # rotate(shear(p - c)) + c
    inverse = np.linalg.inv(forward)                           # Pillow maps output -> input
    centre = np.array([side / 2, side / 2])
    offset = centre - inverse @ centre
    data = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    return canvas.transform((side, side), pil_image.Transform.AFFINE, data,
                            resample=pil_image.Resampling.BILINEAR)


def _normalise(glyph: Any, phase: tuple[float, float], where: str) -> np.ndarray | None:
    """Step 3, MNIST's normalisation: (28, 28) uint8, or None when the glyph's centre of mass
    cannot be brought to the frame centre with its 20-px box inside the frame."""
    pil_image = require("PIL.Image", extra="data", package="pillow")
    bbox = glyph.getbbox()
    if bbox is None:
        raise DataError(f"{where}: the font drew nothing for this letter")
    x0, y0, x1, y1 = bbox
    if x0 == 0 or y0 == 0 or x1 == glyph.width or y1 == glyph.height:    # pragma: no cover
        raise DataError(f"{where}: the glyph does not fit its canvas")
    width, height = x1 - x0, y1 - y0
    scale = BOX_SIDE / max(width, height)                      # output px per canvas px
    # pixels covered by the scaled glyph (the longer side exactly BOX_SIDE); the shorter side's
    # slack (< 1 px) is where the random sub-pixel phase puts it
    nx = min(BOX_SIDE, int(np.ceil(width * scale - 1e-9)))
    ny = min(BOX_SIDE, int(np.ceil(height * scale - 1e-9)))
    shift_x = phase[0] * (nx - width * scale) / scale          # in canvas px
    shift_y = phase[1] * (ny - height * scale) / scale
    left, top = x0 - shift_x, y0 - shift_y
    small = glyph.resize((nx, ny), pil_image.Resampling.BOX,
                         box=(left, top, left + nx / scale, top + ny / scale))
    grey = np.asarray(small, dtype=np.float64)
    peak = grey.max()
    if peak <= 0:                                              # pragma: no cover
        raise DataError(f"{where}: the glyph vanished when scaled to {BOX_SIDE} px")
    box = np.round(grey * (255.0 / peak)).astype(np.uint8)    # brightest pixel 255, as MNIST
    mass = box.astype(np.float64)
    total = mass.sum()
    com_y = float(mass.sum(axis=1) @ np.arange(ny)) / total
    com_x = float(mass.sum(axis=0) @ np.arange(nx)) / total
    # whole-pixel translation putting the centre of mass in [CENTRE - 0.5, CENTRE + 0.5)
    top_px = int(np.ceil(CENTRE - 0.5 - com_y))
    left_px = int(np.ceil(CENTRE - 0.5 - com_x))
    if not (0 <= top_px <= IMAGE_SIDE - ny and 0 <= left_px <= IMAGE_SIDE - nx):
        return None
    out = np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    out[top_px:top_px + ny, left_px:left_px + nx] = box
    return out


def render_letter(rng: np.random.Generator, letter: str, fonts: Sequence[Path]) -> np.ndarray:
    """One MNIST-normalised image of ``letter``: (28, 28) uint8, every draw from ``rng``.

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator of every random choice (font, size, stroke, rotation, shear, sub-pixel
        phase; a whole new draw when the glyph cannot be centred, see the module docstring).
    letter : str
        The character to render.
    fonts : sequence of pathlib.Path
        The font files to choose from (:func:`paper_lib.data.pretraining.letters.font_paths`).

    Returns
    -------
    numpy.ndarray
        (28, 28) uint8, white on black.

    Raises
    ------
    paper_lib.errors.DataError
        If a font cannot be read or draws nothing for ``letter``.
    """
    for _ in range(MAX_REDRAWS):
        font = str(fonts[int(rng.integers(len(fonts)))])
        size = int(rng.integers(FONT_SIZES[0], FONT_SIZES[1] + 1))
        stroke = int(rng.integers(STROKE_WIDTHS[0], STROKE_WIDTHS[1] + 1))
        rotation = float(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES))
        shear = float(rng.uniform(-SHEAR, SHEAR))
        phase = (float(rng.random()), float(rng.random()))
        glyph = _render_glyph(letter, font, size, stroke, rotation, shear)
        image = _normalise(glyph, phase, f"font {font}, letter {letter!r}")
        if image is not None:
            return image
    raise DataError(  # pragma: no cover - see the module docstring: never seen
        f"letter {letter!r}: no glyph could be centred as MNIST's in {MAX_REDRAWS} draws")


def make_letter_corpus(seed: int = 0, n_per_letter: int = DEFAULT_N_PER_LETTER, *,
                       letters: Sequence[str] = LETTERS) -> LetterCorpus:
    """Render ``n_per_letter`` MNIST-normalised images of each letter.

    Parameters
    ----------
    seed : int, default=0
        Non-negative; every draw comes from
        ``np.random.default_rng(np.random.SeedSequence([seed, 18, 2]))``. The same seed gives
        bit-identical images (with the same matplotlib, Pillow and FreeType:
        :func:`paper_lib.data.pretraining.letters.renderer_versions`).
    n_per_letter : int, default=200
        Images per letter (at least 1); the default makes 4,000 images.
    letters : sequence of str, default=:data:`paper_lib.data.pretraining.letters.LETTERS`
        The classes, checked by :func:`paper_lib.data.pretraining.letters.check_disjoint`.

    Returns
    -------
    paper_lib.data.pretraining.letters.LetterCorpus
        ``images`` (N, 28, 28) uint8, ``labels`` (N,) int64 grouped by letter, ``letters``.

    Raises
    ------
    paper_lib.errors.ParamError
        If ``seed`` is not a non-negative integer or ``n_per_letter`` not a positive integer.
    paper_lib.errors.DataError
        If a class is a digit, a look-alike or not an ASCII letter
        (:func:`paper_lib.data.pretraining.letters.check_disjoint`), or a font file is missing or
        unreadable (naming it).
    """
    seed = check_int(seed, "seed", 0)
    n_per_letter = check_int(n_per_letter, "n_per_letter", 1)
    letters = tuple(letters)
    check_disjoint(letters)
    if not letters:
        raise ParamError("letters: expected at least one letter, got none")
    fonts = font_paths()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 18, 2]))
    labels = np.repeat(np.arange(len(letters), dtype=np.int64), n_per_letter)
    images = np.empty((labels.size, IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i] = render_letter(rng, letters[label], fonts)
    return LetterCorpus(images=images, labels=labels, letters=letters)
