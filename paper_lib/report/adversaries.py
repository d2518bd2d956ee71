"""Ablation: the adversaries of the four state-of-the-art baselines, switched on and off.

ACMR, UCAL and AGAH train a modality adversary against their projectors so that audio and visual
embeddings become indistinguishable; UGACH's adversary is a generator that mines candidates for
its hashing discriminator. Each estimator has a switch ``adversarial`` (``True`` by default: the
main table's fits, read back from the cache). For every fit this module records two things:

- MAP over the full ranking (the runner's records, as every table);
- *modality separability*: the cross-validated accuracy of a fresh linear probe telling the audio
  test embeddings from the visual ones (:func:`paper_lib.metrics.modality.modality_separability`;
  0.5 = mixed, 1.0 = separated). It is what the modality adversaries aim to lower.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from paper_lib.data.dataset import PairedDataset
from paper_lib.experiment import Config, run_configs
from paper_lib.methods.registry import get_method
from paper_lib.metrics.modality import modality_separability
from paper_lib.paper import PAPER_DIM, SOTA_BASELINES
from paper_lib.report.ablations import sweep_configs
from paper_lib.report.tables import mean_std

#: the columns of :func:`run_adversary_ablation`'s separability table
SEPARABILITY_COLUMNS = ["method", "setting", "fold", "seed", "separability"]


def adversary_configs(*, epochs: int, methods: Sequence[str] = SOTA_BASELINES) -> list[Config]:
    """Each method at d = 10 with ``adversarial=True`` (its default) and ``False``."""
    return [c for m in methods
            for c in sweep_configs(m, "adversarial", [True, False], epochs=epochs, dim=PAPER_DIM)]


def run_adversary_ablation(ds: PairedDataset, configs: Sequence[Config], *, folds: Sequence[int],
                           seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every config on every fold with one seed (through the cache, like every ablation):
    (tidy records, one separability row per fit with :data:`SEPARABILITY_COLUMNS`)."""
    records, rows = [], []
    for c in configs:
        recs, results = run_configs(ds, [c], folds=list(folds), seeds=[int(seed)], cache=True)
        records.append(recs)
        rows += [{"method": c.method, "setting": c.setting, "fold": r.split.fold, "seed": r.seed,
                  "separability": modality_separability(r.Z_audio, r.Z_visual, seed=int(seed))}
                 for r in results]
    return pd.concat(records, ignore_index=True), pd.DataFrame(rows, columns=SEPARABILITY_COLUMNS)


def separability_summary(per_fit: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (ddof = 1; 0 for one fit) of the separability per method and setting."""
    def std(v: pd.Series) -> float:
        return float(v.std(ddof=1)) if len(v) > 1 else 0.0

    return (per_fit.groupby(["method", "setting"], sort=False)["separability"]
            .agg(separability_mean="mean", separability_std=std, n="count").reset_index())


def separability_view(separability: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """:func:`separability_summary` for reading: ``method`` (display name), ``setting``, the
    separability as "mean ± std" on one line, and ``fits`` (how many fits the mean covers; left
    out when every cell has the same number, which the caption states). No value is set in
    bold: a lower separability is what an adversary aims at, not a better retrieval."""
    out = pd.DataFrame({
        "method": [get_method(m).paper_name for m in separability["method"]],
        "setting": list(separability["setting"]),
        "modality separability": [mean_std(float(m), float(s), digits) for m, s in
                                  zip(separability["separability_mean"],
                                      separability["separability_std"], strict=True)],
        "fits": [int(n) for n in separability["n"]]})
    return out.drop(columns="fits") if out["fits"].nunique() == 1 else out


def describe(summary: pd.DataFrame, separability: pd.DataFrame, names: dict[str, str],
             digits: int = 3) -> str:
    """One computed sentence per method: MAP (A→V / V→A) and separability, adversary on → off.

    ``summary`` is :func:`paper_lib.report.ablations.summarise_sweep` of the records,
    ``separability`` :func:`separability_summary`, ``names`` the display name of each method.
    """
    def cell(method: str, on: bool) -> tuple[float, float, float]:
        setting = f"adversarial={on}"
        m = summary[(summary["method"] == method) & (summary["setting"] == setting)]
        s = separability[(separability["method"] == method) & (separability["setting"] == setting)]
        if len(m) != 2 or len(s) != 1:
            raise ValueError(f"summary: no complete cell for {method} {setting}")
        by_dir = m.set_index("direction")["mean"]
        return float(by_dir["a2v"]), float(by_dir["v2a"]), float(s["separability_mean"].iloc[0])

    lines = []
    for method in dict.fromkeys(summary["method"]):
        (a_on, v_on, s_on), (a_off, v_off, s_off) = cell(method, True), cell(method, False)
        lines.append(f"- **{names.get(method, method)}**: MAP {a_on:.{digits}f} / {v_on:.{digits}f}"
                     f" with the adversary, {a_off:.{digits}f} / {v_off:.{digits}f} without it "
                     f"(A→V / V→A); modality separability {s_on:.{digits}f} with, "
                     f"{s_off:.{digits}f} without.")
    return "\n".join(lines)
