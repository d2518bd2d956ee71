"""AV-digits in the paper's regime: features from networks pretrained on disjoint classes.

The paper never feeds raw signals to the methods it compares: audio goes through VGGish
(pretrained on YouTube audio), images through Inception V3 (pretrained on ImageNet), both
trained on other data with other labels, then PCA-whitened and quantised to one byte per value
(the YouTube-8M format of the released VEGAS features). This dataset gives the AV-digits clips
the same feature stage, trained in the build:

1. **Audio network**: a VGGish-style CNN (:class:`paper_lib.extract.audio_net.AudioNet`) trained
   to classify 20 spoken English words that are not digits
   (:mod:`paper_lib.data.pretraining.words`, rendered by eSpeak NG as AV-digits renders its
   clips); its penultimate layer embeds every 0.96 s log-mel patch of a clip (one per second,
   VGGish's front-end).
2. **Image network**: a small CNN (:class:`paper_lib.extract.image_net.ImageNet`) trained to
   classify 20 rendered letters that do not look like digits
   (:mod:`paper_lib.data.pretraining.letters`); its penultimate layer embeds every MNIST image.
3. **Post-processing** as the released features: a whitening PCA fitted on the *pretraining
   corpus's* embeddings (never on AV-digits: as VGGish's PCA was fitted on YouTube data), then
   8-bit quantisation (:mod:`paper_lib.extract.postprocess`; truncation for audio as
   ``vggish_postprocess.py``, rounding for images as YouTube-8M).
4. **Written through the per-clip layout** of ``paper-lib extract`` (``vgg/``, ``inception/``,
   ``classes/``, ``folds/``: :mod:`paper_lib.data.formats.clip_arrays`) and read back by its
   reader, so this dataset is read exactly as real extracted features are; then put back in
   AV-digits' row order, with AV-digits' media (waveforms, images) attached.

Same clips, pairs, labels and folds as ``avdigits`` with the same seed (checked after reading);
only the features differ. No digit word and no digit image is ever part of a pretraining
corpus (checked by the corpora, and by the tests). The pretraining accuracies on held-out
pretraining data are stored in ``media["provenance"]`` (JSON), which every notebook's
``provenance.json`` records.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from paper_lib import atomic, paths, threads
from paper_lib.data import avdigits as avdigits_module
from paper_lib.data.avdigits import DEFAULT_N_PER_CLASS, make_avdigits
from paper_lib.data.cache import cache_key, load_cached
from paper_lib.data.dataset import PairedDataset
from paper_lib.data.formats.clip_arrays import AUDIO_DIR, FOLD_DIR, VISUAL_DIR, read_clip_arrays
from paper_lib.data.pretraining import letters as letters_module
from paper_lib.data.pretraining import words as words_module
from paper_lib.data.pretraining.letters import make_letter_corpus
from paper_lib.data.pretraining.words import make_word_corpus, word_patches
from paper_lib.errors import DataError, ParamError
from paper_lib.extract import audio_net, image_net, logmel, postprocess, pretrain
from paper_lib.extract.audio_net import AudioNet, embed_patches
from paper_lib.extract.image_net import ImageNet, embed_images
from paper_lib.extract.pretrain import PretrainReport, TrainingSpec, pretrained_network
from paper_lib.fingerprint import modules_fingerprint

#: the dataset's name (registry, cache files, results folders)
GENERATOR = "avdigits-pretrained"
#: the class-id folder of the per-clip layout it writes
CLASS_DIR = "classes"
#: [choice] the feature width of both networks: VGGish's embedding width
EMBED_DIM = 128
#: [choice] the audio corpus: 20 words x 100 clips (pretraining of both networks <= 2 min)
N_PER_WORD = 100
#: [choice] the image corpus: 20 letters x 200 images
N_PER_LETTER = 200
#: [choice] the audio network's training, fixed (never tuned on AV-digits): enough epochs for
#: the held-out pretraining accuracy to level off (recorded in the provenance)
AUDIO_TRAINING = TrainingSpec(epochs=8, batch_size=64, lr=1e-3, held_out_fraction=0.2, seed=0)
#: [choice] the image network's training (it levels off sooner)
IMAGE_TRAINING = TrainingSpec(epochs=6, batch_size=64, lr=1e-3, held_out_fraction=0.2, seed=0)
#: the time budget of pretraining both networks (corpora included) on the 2-core build machine
PRETRAINING_BUDGET_SECONDS = 120
#: [choice] folds of the cross-fitted (held-out) eigenvalues of the whitening PCAs, as the
#: project's VGGish PCA stand-in
PCA_FOLDS = 8


# -- the two feature networks ----------------------------------------------------------------
def _code_version() -> str:
    """Everything the features depend on besides the parameters: this code, the corpora's and
    networks' code, and the versions of the libraries that synthesise, render and train (the
    rendered letters depend on matplotlib's fonts, Pillow and FreeType)."""
    renderer = "; ".join(f"{k} {v}" for k, v in sorted(letters_module.renderer_versions().items()))
    return modules_fingerprint(
        sys.modules[__name__], words_module, letters_module, audio_net, image_net, pretrain,
        postprocess,
        extra=f"avdigits {avdigits_module.code_version()}; {renderer}; torch {_torch_version()}")


def _torch_version() -> str:
    import torch

    return str(torch.__version__)


def audio_network(pretrain_seed: int = 0, use_cache: bool = True
                  ) -> tuple[Any, PretrainReport, np.ndarray]:
    """The pretrained audio network, its report, and the embeddings of the whole word corpus
    (training and held-out parts, for the whitening PCA; never an AV-digits clip): the network
    from the cache when it is there."""
    corpus_params = {"seed": pretrain_seed, "n_per_word": N_PER_WORD}
    cache: dict[str, np.ndarray] = {}

    def corpus() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        words = make_word_corpus(seed=pretrain_seed, n_per_word=N_PER_WORD)
        patches, labels = word_patches(words)
        cache["patches"] = patches
        return patches[:, None, :, :], labels, tuple(words.words)

    spec = _seeded(AUDIO_TRAINING, pretrain_seed)
    net, report = pretrained_network(
        "audio_words", lambda: AudioNet(len(words_module.WORDS), EMBED_DIM, seed=pretrain_seed),
        corpus, spec, corpus_params=corpus_params, code_version=_code_version(),
        use_cache=use_cache)
    patches = cache.get("patches")
    if patches is None:
        patches, _ = word_patches(make_word_corpus(seed=pretrain_seed, n_per_word=N_PER_WORD))
    with threads.single_threaded():          # as the training: no core-count dependence
        return net, report, embed_patches(net, patches)


def image_network(pretrain_seed: int = 0, use_cache: bool = True
                  ) -> tuple[Any, PretrainReport, np.ndarray]:
    """The pretrained image network, its report and the letter corpus's embeddings."""
    corpus_params = {"seed": pretrain_seed, "n_per_letter": N_PER_LETTER}
    cache: dict[str, np.ndarray] = {}

    def corpus() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        letters = make_letter_corpus(seed=pretrain_seed, n_per_letter=N_PER_LETTER)
        cache["images"] = letters.images
        return (letters.images[:, None, :, :].astype(np.float32) / 255.0, letters.labels,
                tuple(letters.letters))

    spec = _seeded(IMAGE_TRAINING, pretrain_seed)
    net, report = pretrained_network(
        "image_letters",
        lambda: ImageNet(len(letters_module.LETTERS), EMBED_DIM, seed=pretrain_seed),
        corpus, spec, corpus_params=corpus_params, code_version=_code_version(),
        use_cache=use_cache)
    images = cache.get("images")
    if images is None:
        images = make_letter_corpus(seed=pretrain_seed, n_per_letter=N_PER_LETTER).images
    with threads.single_threaded():
        return net, report, embed_images(net, images)


def _seeded(spec: TrainingSpec, seed: int) -> TrainingSpec:
    from dataclasses import replace

    return replace(spec, seed=int(seed))


# -- features of the AV-digits clips ---------------------------------------------------------
def clip_patches(waveform: np.ndarray, length: int, sample_rate: int) -> np.ndarray:
    """(T, 96, 64) VGGish patches of one stored clip: one per whole second (0.96 s each)."""
    wave = waveform[:length].astype(np.float64) / 32768.0
    patches = logmel.frame_examples(logmel.log_mel(wave, sample_rate))
    if patches.shape[0] == 0:
        raise DataError(f"a clip of {length / sample_rate:.2f} s is shorter than one 0.96 s "
                        f"VGGish patch")
    return patches.astype(np.float32)


def _post(pca: postprocess.PcaProjection, x: np.ndarray,
          rounding: postprocess.Rounding) -> np.ndarray:
    """Whitened PCA, then one byte per value (YouTube-8M / VGGish post-processing)."""
    return postprocess.quantize_uint8(pca.apply(x), rounding=rounding)


def write_clip_folder(target: Path, base: PairedDataset, audio_q: list[np.ndarray],
                      visual_q: np.ndarray) -> None:
    """The per-clip layout of ``paper-lib extract`` in ``target`` (atomically): per clip
    ``vgg/<id>.npy`` (T, 128) uint8, ``inception/<id>.npy`` (T, 128) uint8 (the image's code
    repeated for the clip's seconds, as AV-digits' visual sequences repeat the image),
    ``classes/<id>.npy``, and ``folds/NN.txt`` with AV-digits' folds."""
    assert base.folds is not None
    with atomic.atomic_directory(target, overwrite=True) as tmp:
        for sub in (AUDIO_DIR, VISUAL_DIR, CLASS_DIR, FOLD_DIR):
            (tmp / sub).mkdir()
        for i, cid in enumerate(base.clip_ids):
            t = audio_q[i].shape[0]
            np.save(tmp / AUDIO_DIR / f"{cid}.npy", audio_q[i])
            np.save(tmp / VISUAL_DIR / f"{cid}.npy", np.repeat(visual_q[i:i + 1], t, axis=0))
            np.save(tmp / CLASS_DIR / f"{cid}.npy", np.asarray(base.labels[i], dtype=np.int64))
        for f in range(int(base.folds.max()) + 1):
            ids = sorted(str(c) for c in base.clip_ids[base.folds == f])
            (tmp / FOLD_DIR / f"{f:02d}.txt").write_text("\n".join(ids) + "\n")


def build_avdigits_pretrained(seed: int, n_per_class: int, n_folds: int, pretrain_seed: int,
                              folder: Path, use_cache: bool = True) -> PairedDataset:
    """Generate the dataset (see the module docstring); the per-clip folder goes to ``folder``."""
    base = make_avdigits(seed=seed, n_per_class=n_per_class, n_folds=n_folds,
                         use_cache=use_cache)
    media = base.media or {}
    a_net, a_report, a_corpus = audio_network(pretrain_seed, use_cache)
    v_net, v_report, v_corpus = image_network(pretrain_seed, use_cache)
    # the whitening PCAs: fitted on the pretraining corpora's embeddings only
    # ([choice] held-out eigenvalues, as the project's VGGish PCA stand-in: 8-fold cross-fitting)
    a_pca = postprocess.PcaProjection.fit(a_corpus, EMBED_DIM, n_folds=PCA_FOLDS)
    v_pca = postprocess.PcaProjection.fit(v_corpus, EMBED_DIM, n_folds=PCA_FOLDS)
    waves, lengths = media["waveforms"], media["waveform_lengths"]
    per_clip = [clip_patches(waves[i], int(lengths[i]), int(media["sample_rate"]))
                for i in range(base.n_clips)]
    counts = np.array([p.shape[0] for p in per_clip])
    # one thread, as the training: the features must not depend on the machine's core count
    with threads.single_threaded():
        a_emb = embed_patches(a_net, np.concatenate(per_clip))               # (sum T, 128)
        v_emb = embed_images(v_net, media["images"])                         # (N, 128)
    a_q = np.split(_post(a_pca, a_emb, "truncate"), np.cumsum(counts)[:-1])
    v_q = _post(v_pca, v_emb, "round")
    write_clip_folder(folder, base, a_q, v_q)
    read = read_clip_arrays(folder, name=GENERATOR, class_dir=CLASS_DIR, audio_dim=EMBED_DIM,
                            visual_dim=EMBED_DIM, n_classes=base.n_classes,
                            class_names=base.class_names, sequences=True,
                            max_seconds=int(counts.max()))
    order = {str(c): i for i, c in enumerate(read.clip_ids)}
    rows = np.array([order[str(c)] for c in base.clip_ids])                  # back to base order
    assert read.folds is not None and base.folds is not None
    if not (np.array_equal(read.labels[rows], base.labels)
            and np.array_equal(read.folds[rows], base.folds)):
        raise DataError(f"{folder}: the per-clip folder read back does not give AV-digits' "
                        f"labels and folds")
    reports = {"audio": a_report.to_json(), "visual": v_report.to_json(),
               "pca_fitted_on": "the pretraining corpora's embeddings (never AV-digits)"}
    assert read.audio_seq is not None and read.visual_seq is not None
    return PairedDataset(
        name=GENERATOR, audio=read.audio[rows], visual=read.visual[rows], labels=base.labels,
        class_names=base.class_names, clip_ids=base.clip_ids, folds=base.folds,
        audio_seq=read.audio_seq[rows], visual_seq=read.visual_seq[rows],
        seq_len=read.seq_len[rows] if read.seq_len is not None else None,
        media={**media, "provenance": json.dumps({"pretraining": reports}, sort_keys=True)},
        source=f"embedded:{GENERATOR} (per-clip folder {folder.name})")


def pretraining_reports(ds: PairedDataset) -> dict[str, Any]:
    """The pretraining reports stored in a dataset built here (empty for any other)."""
    return dict(ds.provenance().get("pretraining", {}))


def make_avdigits_pretrained(seed: int = 0, n_per_class: int = DEFAULT_N_PER_CLASS,
                             n_folds: int = 5, pretrain_seed: int = 0,
                             use_cache: bool = True) -> PairedDataset:
    """AV-digits with pretrained features (see the module docstring).

    Parameters
    ----------
    seed, n_per_class, n_folds :
        As :func:`paper_lib.data.avdigits.make_avdigits`: the same clips and folds.
    pretrain_seed : int, default=0
        Seed of the pretraining corpora and of the networks' training.
    use_cache : bool, default=True
        Cache the dataset (and the trained weights) under ``paths.cache_dir()``.

    Returns
    -------
    PairedDataset
        128-d audio (clip mean of per-second codes) and 128-d visual views, per-second
        sequences, AV-digits' folds and media, the pretraining report in ``media["provenance"]``.
    """
    for name, value in (("seed", seed), ("pretrain_seed", pretrain_seed)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ParamError(f"{name} must be a non-negative integer, got {value!r}")
    params = {"seed": int(seed), "n_per_class": int(n_per_class), "n_folds": int(n_folds),
              "pretrain_seed": int(pretrain_seed)}
    code = _code_version()

    def build() -> PairedDataset:
        args = (int(seed), int(n_per_class), int(n_folds), int(pretrain_seed))
        if use_cache:       # the per-clip folder stays beside the cached dataset, for inspection
            folder = paths.cache_dir() / "datasets" / f"{GENERATOR}-{cache_key(params, code)}-clips"
            return build_avdigits_pretrained(*args, folder, use_cache)
        with tempfile.TemporaryDirectory(prefix="paper_lib_pretrained_") as tmp:
            return build_avdigits_pretrained(*args, Path(tmp) / "clips", use_cache)

    return load_cached(GENERATOR, params, build, code_version=code, use_cache=use_cache)


__all__ = ["AUDIO_TRAINING", "EMBED_DIM", "GENERATOR", "IMAGE_TRAINING", "N_PER_LETTER",
           "PRETRAINING_BUDGET_SECONDS",
           "N_PER_WORD", "audio_network", "build_avdigits_pretrained", "clip_patches",
           "image_network", "make_avdigits_pretrained", "pretraining_reports",
           "write_clip_folder"]
