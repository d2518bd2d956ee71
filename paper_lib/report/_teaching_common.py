"""The few pieces more than one teaching chapter (notebooks 20-23) needs.

- :data:`CLASS_COLOURS`, :func:`unit_vector`, :func:`draw_direction`: drawing 2-d toys
  (chapters 20 and 22);
- :class:`ToyViews`: a paired toy sample (chapters 21 and 22);
- :func:`embed_per_view`: test embeddings by the protocol's per-view rule (chapters 20 and 21);
- :func:`mean_prevalence`: the score of a random ranking / where a PR curve ends (21 and 23);
- :func:`figure_problems`: is a figure readable in the book's text column (all four chapters'
  tests)?
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from paper_lib.methods.base import CrossModalEstimator

CLASS_COLOURS = plt.get_cmap("tab10")


def unit_vector(degrees: float | np.ndarray) -> np.ndarray:
    """Unit vector(s) at angle ``degrees``: (2,) for a scalar, (2, n) for an array of angles."""
    t = np.radians(degrees)
    return np.stack([np.cos(t), np.sin(t)])


def draw_direction(ax: plt.Axes, origin: np.ndarray, w: np.ndarray, length: float, colour: str,
                   label: str | None, lw: float = 2.5) -> None:
    """A double-headed line through ``origin`` along ``w`` (a direction has no sign)."""
    u = w / np.linalg.norm(w) * length
    head, tail = origin + u, origin - u
    ax.annotate("", xy=(float(head[0]), float(head[1])), xytext=(float(tail[0]), float(tail[1])),
                arrowprops={"arrowstyle": "<->", "color": colour, "lw": lw})
    if label:
        ax.plot([], [], color=colour, lw=lw, label=label)


@dataclass(frozen=True)
class ToyViews:
    """A paired sample: both views, the class labels and the hidden nuisance."""

    audio: np.ndarray      # (N, d)
    visual: np.ndarray     # (N, d)
    labels: np.ndarray     # (N,)
    nuisance: np.ndarray   # (N, q)


def embed_per_view(model: CrossModalEstimator, X_audio: np.ndarray,
                   X_visual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of a fitted model by the protocol's rule (as in
    :func:`~paper_lib.experiment.evaluate.evaluate_split`): the audio embedding from the audio view alone,
    the visual embedding from the visual view alone."""
    Z_a = model.transform(X_audio=X_audio)[0]
    Z_v = model.transform(X_visual=X_visual)[1]
    if Z_a is None or Z_v is None:
        raise RuntimeError(f"{type(model).__name__}.transform returned no embedding for a view "
                           f"it was given.")
    return Z_a, Z_v


def mean_prevalence(q_labels: np.ndarray, g_labels: np.ndarray) -> float:
    """mean_i R_i / n_g: where every query-averaged PR curve ends (precision at recall 1)."""
    counts = np.bincount(g_labels, minlength=int(max(q_labels.max(), g_labels.max())) + 1)
    return float(np.mean(counts[q_labels] / g_labels.size))


#: the widest a teaching figure may be (inches): at the PNG's 120 dpi it fills the book's text
#: column (about 745 px) without being scaled down much, so 10 pt text stays readable
MAX_FIG_WIDTH: float = 8.0
#: the smallest font size (points) of any text of a teaching figure
MIN_FONT_SIZE: float = 10.0


def figure_problems(fig: plt.Figure, max_width: float = MAX_FIG_WIDTH,
                    min_font: float = MIN_FONT_SIZE) -> list[str]:
    """What would make ``fig`` hard to read in the book's text column: a width above
    ``max_width`` inches, or visible text (titles, labels, ticks, legends, annotations) set
    smaller than ``min_font`` points. Empty when the figure is readable."""
    from matplotlib.text import Text

    problems = []
    width = float(fig.get_size_inches()[0])
    if width > max_width + 1e-9:
        problems.append(f"figure is {width:g} in wide (at most {max_width:g})")
    fig.canvas.draw()                                    # tick labels exist after a draw
    for text in fig.findobj(Text):
        size = float(text.get_fontsize())
        if text.get_visible() and text.get_text().strip() and size < min_font:
            problems.append(f"{text.get_text()!r} is {size:g} pt")
    return problems


#: what a caption of a toy figure or table states after the dataset and profile: the toys do
#: not read the dataset (``run.figure(..., over=TOY_SETTING)``)
TOY_SETTING = "synthetic toy data"
