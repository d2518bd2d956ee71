"""Pretraining a feature network on a labelled corpus, and the cache of its trained weights.

The paper never feeds raw signals to the methods it compares: its features come from networks
pretrained on *other* data with *other* labels (VGGish on YouTube audio, Inception V3 on
ImageNet). :func:`pretrained_network` mirrors that stage for a small network: it trains a
classifier on a corpus (spoken words, rendered letters: :mod:`paper_lib.data.pretraining`) and
keeps its penultimate layer as the feature extractor.

Training (:func:`train_classifier`): a stratified held-out part of the corpus
(``held_out_fraction`` of every class) is set aside before training and only scored at the end
(its accuracy is the network's *pretraining accuracy*, recorded with the weights); Adam on the
cross-entropy, minibatches drawn by a seeded ``torch.Generator``, a fixed number of epochs (no
early stopping, so nothing is chosen by looking at the held-out part).

Cache: the trained weights are stored as safetensors (no pickle) under
``paths.cache_dir()/pretrained/<name>-<key>.safetensors`` with their report beside them
(``.json``); ``key`` hashes the network's name, the training settings, the corpus parameters and
the code that builds corpus and network (``code_version``), so a rebuild never retrains unless
one of them changed. An unreadable entry is reported once, discarded and retrained
(:func:`paper_lib.atomic.read_json_entry`).

Determinism: the same seed gives the same weights on the same machine. Training runs with one
BLAS/OpenMP thread (:func:`paper_lib.threads.single_threaded`), because a parallel reduction's
order changes the last bits of a convolution's gradient, and hence every later step.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paper_lib import atomic, paths, threads
from paper_lib.errors import DataError, ParamError, check_int

#: sub-folder of the cache directory holding the trained weights
CACHE_SUBDIR = "pretrained"


@dataclass(frozen=True)
class TrainingSpec:
    """How a feature network is pretrained (every field enters the cache key).

    Attributes
    ----------
    epochs : int
        Passes over the training part of the corpus.
    batch_size : int
        Minibatch size.
    lr : float
        Adam's learning rate.
    weight_decay : float
        Adam's L2 penalty.
    held_out_fraction : float
        Share of every class set aside before training and only scored at the end.
    seed : int
        Seed of the held-out split, the initial weights and the minibatch order.
    """

    epochs: int = 6
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    held_out_fraction: float = 0.2
    seed: int = 0

    def check(self) -> TrainingSpec:
        """This spec, or a :class:`~paper_lib.errors.ParamError` naming a bad field."""
        check_int(self.epochs, "epochs", 1)
        check_int(self.batch_size, "batch_size", 1)
        check_int(self.seed, "seed", 0)
        if not self.lr > 0:
            raise ParamError(f"lr must be positive, got {self.lr!r}")
        if not self.weight_decay >= 0:
            raise ParamError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not 0.0 < self.held_out_fraction < 1.0:
            raise ParamError(f"held_out_fraction must lie in (0, 1), got "
                             f"{self.held_out_fraction!r}")
        return self


@dataclass(frozen=True)
class PretrainReport:
    """What pretraining one network gave (stored beside its weights, shown in the book).

    Attributes
    ----------
    name : str
        The network's name (e.g. ``"audio_words"``).
    classes : tuple of str
        The corpus's classes (words, letters): never a class of an evaluation dataset.
    n_train, n_held_out : int
        Corpus items trained on and held out.
    train_accuracy, held_out_accuracy : float
        Accuracy of the final network on its training part and on the held-out part.
    final_loss : float
        Mean cross-entropy of the last epoch.
    seconds : float
        Wall time of corpus + training when it was computed (not of a cache hit).
    key : str
        The cache key.
    spec : dict
        The :class:`TrainingSpec` as a dict.
    cached : bool
        Whether this run read the weights from the cache (not stored in the cache).
    """

    name: str
    classes: tuple[str, ...]
    n_train: int
    n_held_out: int
    train_accuracy: float
    held_out_accuracy: float
    final_loss: float
    seconds: float
    key: str
    spec: dict[str, Any] = field(default_factory=dict)
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON object (without ``cached``)."""
        doc = asdict(self)
        doc.pop("cached")
        doc["classes"] = list(self.classes)
        return doc


def stratified_held_out(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of the held-out items: ``round(fraction * n_c)`` (at least one) of every
    class ``c``, drawn with ``seed``; every class keeps at least one training item."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    held = np.zeros(labels.size, dtype=bool)
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        if rows.size < 2:
            raise DataError(f"pretraining corpus: class {c} has {rows.size} item(s); every class "
                            f"needs at least 2 (one to train on, one to hold out)")
        k = min(rows.size - 1, max(1, int(round(fraction * rows.size))))
        held[rng.choice(rows, k, replace=False)] = True
    return held


def _accuracy(net: Any, inputs: np.ndarray, labels: np.ndarray, batch_size: int) -> float:
    import torch

    net.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, inputs.shape[0], batch_size):
            logits = net(torch.from_numpy(inputs[start:start + batch_size]))
            correct += int((logits.argmax(dim=1).numpy() == labels[start:start + batch_size]).sum())
    return correct / max(1, inputs.shape[0])


def train_classifier(net: Any, inputs: np.ndarray, labels: np.ndarray, spec: TrainingSpec,
                     *, name: str = "network", classes: tuple[str, ...] = ()
                     ) -> PretrainReport:
    """Train ``net`` (a torch module mapping ``inputs`` to class logits) in place.

    Parameters
    ----------
    net : torch.nn.Module
        The classifier; ``net(x)`` returns (batch, n_classes) logits.
    inputs : np.ndarray
        (N, ...) float32, as ``net`` takes them.
    labels : np.ndarray
        (N,) class ids in ``0 .. n_classes-1``.
    spec : TrainingSpec
        Epochs, batch size, learning rate, held-out share and seed.
    name, classes :
        Recorded in the report.

    Returns
    -------
    PretrainReport
        With the held-out accuracy (``key`` and ``seconds`` are filled by the caller).
    """
    import torch

    spec.check()
    inputs = np.ascontiguousarray(inputs, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if inputs.shape[0] != labels.shape[0] or inputs.shape[0] == 0:
        raise DataError(f"pretraining corpus {name!r}: {inputs.shape[0]} inputs and "
                        f"{labels.shape[0]} labels (need as many, and at least one)")
    if not np.isfinite(inputs).all():
        raise DataError(f"pretraining corpus {name!r}: the inputs contain NaN or inf")
    held = stratified_held_out(labels, spec.held_out_fraction, spec.seed)
    x_train, y_train = inputs[~held], labels[~held]
    x_held, y_held = inputs[held], labels[held]
    optimiser = torch.optim.Adam(net.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    generator = torch.Generator().manual_seed(spec.seed)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    final_loss = float("nan")
    for _ in range(spec.epochs):
        net.train()
        order = torch.randperm(xt.shape[0], generator=generator)
        total, count = 0.0, 0
        for start in range(0, xt.shape[0], spec.batch_size):
            batch = order[start:start + spec.batch_size]
            optimiser.zero_grad()
            loss = loss_fn(net(xt[batch]), yt[batch])          # mean cross-entropy
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * batch.numel()
            count += batch.numel()
        final_loss = total / count
    net.eval()
    return PretrainReport(
        name=name, classes=tuple(classes), n_train=int(y_train.size), n_held_out=int(y_held.size),
        train_accuracy=_accuracy(net, x_train, y_train, 512),
        held_out_accuracy=_accuracy(net, x_held, y_held, 512), final_loss=final_loss,
        seconds=0.0, key="", spec=asdict(spec))


def cache_key(name: str, spec: TrainingSpec, corpus_params: Mapping[str, Any],
              code_version: str) -> str:
    """sha256 (first 16 hex digits) of everything the trained weights depend on."""
    doc = {"name": name, "spec": asdict(spec), "corpus": dict(corpus_params),
           "code": code_version}
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_files(name: str, key: str, cache_dir: str | Path | None = None) -> tuple[Path, Path]:
    """(weights, report) paths of a cache entry."""
    root = Path(cache_dir) if cache_dir is not None else paths.cache_dir() / CACHE_SUBDIR
    return root / f"{name}-{key}.safetensors", root / f"{name}-{key}.json"


def _load_entry(net: Any, weights: Path, report_path: Path) -> PretrainReport | None:
    """The cached report after loading the weights into ``net``; None (entry discarded) if the
    entry is missing, unreadable or does not fit ``net``."""
    doc = atomic.read_json_entry(report_path)
    if doc is None or not weights.is_file():
        return None
    try:
        from safetensors.torch import load_file

        net.load_state_dict(load_file(str(weights)), strict=True)
        doc["classes"] = tuple(doc["classes"])
        report = PretrainReport(**doc, cached=True)
    except Exception as err:   # noqa: BLE001 - any unreadable entry is retrained
        atomic.discard_entry(weights, report_path, reason=f"{type(err).__name__}: {err}")
        return None
    net.eval()
    return report


def pretrained_network(name: str, build: Callable[[], Any],
                       corpus: Callable[[], tuple[np.ndarray, np.ndarray, tuple[str, ...]]],
                       spec: TrainingSpec, *, corpus_params: Mapping[str, Any],
                       code_version: str, use_cache: bool = True,
                       cache_dir: str | Path | None = None) -> tuple[Any, PretrainReport]:
    """A trained feature network: read from the cache, or pretrained and cached.

    Parameters
    ----------
    name : str
        File-name-safe name of the network (``"audio_words"``, ``"image_letters"``).
    build : callable
        ``build()`` returns the untrained, seeded network (also used to load cached weights).
    corpus : callable
        ``corpus()`` returns (inputs, labels, class names): only called when training.
    spec : TrainingSpec
        The training settings.
    corpus_params : mapping
        The corpus's parameters (seed, sizes, ...), part of the cache key.
    code_version : str
        Fingerprint of the code that makes corpus and network, part of the cache key.
    use_cache : bool, default=True
        Read and write the cache.
    cache_dir : str or Path, optional
        Default ``paths.cache_dir()/pretrained``.

    Returns
    -------
    (network, PretrainReport)
        The network in eval mode and its report (``cached`` says whether it was read).
    """
    spec.check()
    key = cache_key(name, spec, corpus_params, code_version)
    weights, report_path = cache_files(name, key, cache_dir)
    net = build()
    if use_cache:
        report = _load_entry(net, weights, report_path)
        if report is not None:
            return net, report
    start = time.perf_counter()
    with threads.single_threaded():
        inputs, labels, classes = corpus()
        report = train_classifier(net, inputs, labels, spec, name=name, classes=classes)
    report = PretrainReport(**{**asdict(report), "key": key,
                               "seconds": round(time.perf_counter() - start, 1)})
    if use_cache:
        from safetensors.torch import save_file

        state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
        atomic.write_with(weights, lambda tmp: save_file(state, str(tmp)))
        atomic.write_json(report_path, report.to_json())
    return net, report


__all__ = ["CACHE_SUBDIR", "PretrainReport", "TrainingSpec", "cache_files", "cache_key",
           "pretrained_network", "stratified_held_out", "train_classifier"]
