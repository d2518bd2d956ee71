"""The methods of the paper's comparison, by the book's names (the paper's, in lower snake case).

Each entry builds a *fresh, unfitted* estimator from ``(dim, seed, epochs, **hyper_parameters)``,
so the runner re-initialises every fitted object for every fold and seed. :func:`register_method`
adds a method; :func:`get_method` looks one up. (Which methods make up the paper's comparison is a
fact about the paper: ``paper_lib.paper.PAPER_METHODS``.)

The builders import their estimator module when called: the deep methods pull in PyTorch (over a
second to import), which code that only lists or looks up methods does not need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paper_lib.errors import UserError
from paper_lib.methods.base import CrossModalEstimator


@dataclass(frozen=True)
class MethodSpec:
    """A registered method: its names, what it is, and how to build a fresh estimator.

    Attributes
    ----------
    name : str
        The book's name, e.g. ``"tnn_c_cca"``.
    paper_name : str
        As printed in the paper, e.g. ``"TNN-C-CCA"``.
    description : str
        One line for listings (``paper-lib run --list-methods``).
    build : callable
        ``build(dim, seed, epochs, **hyper_parameters)`` returns a fresh, unfitted
        :class:`~paper_lib.methods.base.CrossModalEstimator`.
    """

    name: str                 # the book's name, e.g. "tnn_c_cca"
    paper_name: str           # as printed in the paper, e.g. "TNN-C-CCA"
    description: str
    build: Callable[..., CrossModalEstimator]


def _cca(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    from paper_lib.methods.cca import CCA
    return CCA(n_components=dim, random_state=seed, **hp)


def _c_cca(variant: str) -> Callable[..., CrossModalEstimator]:
    def build(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
        from paper_lib.methods.cluster_cca import ClusterCCA
        return ClusterCCA(n_components=dim, variant=hp.pop("variant", variant), random_state=seed,
                          **hp)
    return build


def _kcca(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    from paper_lib.methods.kcca import KCCA
    return KCCA(n_components=dim, random_state=seed, **hp)


def _c_kcca(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    from paper_lib.methods.kcca import ClusterKCCA
    return ClusterKCCA(n_components=dim, random_state=seed, **hp)


# [choice] the deep methods get the runner's ``epochs`` (one knob for all of them, 10 by default),
# overriding their classes' own defaults (e.g. DCCA's 30).
def _dcca(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    from paper_lib.methods.dcca import DCCA
    return DCCA(n_components=dim, epochs=epochs, random_state=seed, **hp)


def _c_dcca(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    from paper_lib.methods.dcca import ClusterDCCA
    return ClusterDCCA(n_components=dim, epochs=epochs, random_state=seed, **hp)


def _vm_net(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    from paper_lib.methods.vm_net import VMNet
    return VMNet(n_components=dim, epochs=epochs, random_state=seed, **hp)


def _ave_net(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    # [choice] the paper's 128-d embedding: the runner's d does not apply (recorded as 128)
    from paper_lib.methods.ave_net import AVENet
    return AVENet(epochs=epochs, random_state=seed, **hp)


def _lstm(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    from paper_lib.methods.lstm import LSTMClusterCCA
    return LSTMClusterCCA(n_components=dim, epochs=epochs, random_state=seed, **hp)


def _tnn(mining: str) -> Callable[..., CrossModalEstimator]:
    def build(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
        from paper_lib.methods.tnn import TNNCCCA
        return TNNCCCA(n_components=dim, epochs=epochs, mining=hp.pop("mining", mining),
                       random_state=seed, **hp)
    return build


# The paper's four state-of-the-art baselines, each from its own paper (see its module). The
# real-valued ones (ACMR, UCAL) embed in d = ``dim`` dimensions like the CCA family; the hashing
# ones (UGACH, AGAH) answer with ``n_bits``-bit codes (``_hashing.DEFAULT_CODE_LENGTH``) ranked by
# Hamming distance, so the runner's ``dim`` does not apply to them.
def _acmr(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    from paper_lib.methods.acmr import ACMR
    return ACMR(n_components=dim, epochs=epochs, random_state=seed, **hp)


def _ucal(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    from paper_lib.methods.ucal import UCAL
    return UCAL(n_components=dim, epochs=epochs, random_state=seed, **hp)


def _ugach(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    from paper_lib.methods.ugach import UGACH
    return UGACH(epochs=epochs, random_state=seed, **hp)


def _agah(dim: int, seed: int, epochs: int, **hp: Any) -> CrossModalEstimator:
    from paper_lib.methods.agah import AGAH
    return AGAH(epochs=epochs, random_state=seed, **hp)


#: every registered method by its book name, in registration order
METHODS: dict[str, MethodSpec] = {}


def register_method(spec: MethodSpec, *, replace: bool = False) -> MethodSpec:
    """Add ``spec`` to :data:`METHODS` under ``spec.name`` and return it.

    A name that is already registered raises ``ValueError`` unless ``replace=True`` (so a new
    method cannot silently shadow one of the paper's).
    """
    if not isinstance(spec, MethodSpec):
        raise TypeError(f"register_method needs a MethodSpec, got {type(spec).__name__}.")
    if spec.name in METHODS and not replace:
        raise ValueError(f"method {spec.name!r} is already registered "
                         f"({METHODS[spec.name].paper_name}); pass replace=True to replace it.")
    METHODS[spec.name] = spec
    return spec


for _spec in (
    MethodSpec("cca", "CCA", "regularised linear CCA on the one-to-one pairs", _cca),
    MethodSpec("kcca", "KCCA", "RBF kernel CCA (exact, or Nystroem for large N)", _kcca),
    MethodSpec("dcca", "DCCA", "deep CCA (Andrew et al. 2013): two MLPs + linear CCA", _dcca),
    MethodSpec("c_cca", "C-CCA (β = 0.2)", "Cluster-CCA, the authors' beta-mixed variant (beta=0.2)",
               _c_cca("beta")),
    MethodSpec("c_cca_rasiwasia", "C-CCA (Rasiwasia)",
               "Cluster-CCA as published (Rasiwasia et al. 2014): all within-class pairs",
               _c_cca("rasiwasia")),
    MethodSpec("c_kcca", "C-KCCA", "Cluster kernel CCA (RBF), Rasiwasia's all-pairs variant",
               _c_kcca),
    MethodSpec("c_dcca", "C-DCCA / S-DCCA",
               "supervised (cluster) deep CCA, the authors' beta-mixed variant (beta=0.2)",
               _c_dcca),
    MethodSpec("ugach", "UGACH", "unsupervised generative adversarial cross-modal hashing "
               "(Zhang, Peng, Yuan 2018)", _ugach),
    MethodSpec("ucal", "UCAL", "unsupervised cross-modal retrieval through adversarial learning "
               "(He et al. 2017)", _ucal),
    MethodSpec("acmr", "ACMR", "adversarial cross-modal retrieval (Wang et al. 2017)", _acmr),
    MethodSpec("agah", "AGAH", "adversary guided asymmetric hashing (Gu et al. 2019)", _agah),
    MethodSpec("vm_net", "VM-NET", "two-branch ranking network with a soft intra-modal "
               "structure constraint, trained on pairs (Hong, Im, Yang 2018)", _vm_net),
    MethodSpec("ave_net", "AVE-Net", "Objects that Sound (Arandjelovic, Zisserman 2018): conv "
               "nets on log-mel spectrograms and images, trained on audio-visual "
               "correspondence", _ave_net),
    MethodSpec("lstm_c_cca", "lstm_C-CCA", "per-second LSTM summaries, then Cluster-CCA", _lstm),
    MethodSpec("tnn_c_cca_random", "TNN-C-CCA (random triplets)",
               "Cluster-CCA then the triplet network, random triplets", _tnn("random")),
    MethodSpec("tnn_c_cca", "TNN-C-CCA (batch-all)",
               "Cluster-CCA then the triplet network, batch-all triplets (the paper's method)",
               _tnn("batch_all")),
):
    register_method(_spec)
del _spec


def display_name(name: str) -> str:
    """The one name the book shows for method ``name``: its registered ``paper_name``, or the key
    itself for a method that is not registered (e.g. a variant an ablation fits directly).

    >>> display_name("c_cca"), display_name("c_cca_rasiwasia"), display_name("no_such_method")
    ('C-CCA (β = 0.2)', 'C-CCA (Rasiwasia)', 'no_such_method')
    """
    spec = METHODS.get(name)
    return spec.paper_name if spec is not None else name


def get_method(name: str) -> MethodSpec:
    """The registered method called ``name``; ``UserError`` naming the allowed ones otherwise.

    Examples
    --------
    >>> spec = get_method("tnn_c_cca")
    >>> spec.paper_name
    'TNN-C-CCA (batch-all)'
    >>> model = spec.build(10, 0, 2)          # dim, seed, epochs: a fresh, unfitted estimator
    >>> type(model).__name__, model.n_components, model.epochs, model.mining
    ('TNNCCCA', 10, 2, 'batch_all')
    """
    if name not in METHODS:
        raise UserError(f"method: unknown method {name!r}; allowed: {', '.join(METHODS)}")
    return METHODS[name]
