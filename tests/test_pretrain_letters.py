"""The letter corpus the image network is pretrained on, and the image network (issue 18).

The corpus: classes disjoint from the digits and their look-alikes, seeded and bit-reproducible,
balanced, and normalised as MNIST is (20-px box, centre of mass at the frame centre), compared
with the MNIST digits themselves. The network: shapes, seeded initialisation that leaves torch's
global RNG alone, deterministic embeddings that are the penultimate layer of pixels / 255, and a
short training run that learns the letters.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from paper_lib import threads
from paper_lib.data.avdigits import load_mnist_images
from paper_lib.data.pretraining import letters as L
from paper_lib.errors import DataError, ParamError
from paper_lib.extract.image_net import ImageNet, embed_images

#: the two cases of these letters have the same shape once scaled to MNIST's 20-px box
SAME_SHAPE_CASES = set("CKOPSUVWXYZ")


@pytest.fixture(scope="module")
def timed_corpus() -> tuple[L.LetterCorpus, float]:
    """The default corpus (20 letters x 200) and the seconds it took."""
    start = time.perf_counter()
    out = L.make_letter_corpus(seed=0)
    return out, time.perf_counter() - start


@pytest.fixture(scope="module")
def corpus(timed_corpus: tuple[L.LetterCorpus, float]) -> L.LetterCorpus:
    return timed_corpus[0]


@pytest.fixture(scope="module")
def mnist() -> np.ndarray:
    return load_mnist_images()[0]


def centre_of_mass(images: np.ndarray) -> np.ndarray:
    """(N, 2) (row, column) centres of mass, 0-based pixel coordinates."""
    mass = images.astype(np.float64)
    total = mass.sum(axis=(1, 2))
    idx = np.arange(images.shape[1])
    return np.stack([mass.sum(axis=2) @ idx / total, mass.sum(axis=1) @ idx / total], axis=1)


def bounding_boxes(images: np.ndarray) -> np.ndarray:
    """(N, 2) (height, width) of the non-zero pixels."""
    rows, cols = np.asarray(images.any(axis=2)), np.asarray(images.any(axis=1))
    side = images.shape[1]

    def extent(mask: np.ndarray) -> np.ndarray:
        return side - mask.argmax(axis=1) - mask[:, ::-1].argmax(axis=1)

    return np.stack([extent(rows), extent(cols)], axis=1)


# --- classes ------------------------------------------------------------------------------------
def test_the_letters_are_twenty_letters_disjoint_from_digits_and_look_alikes() -> None:
    assert len(L.LETTERS) == 20 and len(set(L.LETTERS)) == 20
    for letter in L.LETTERS:
        assert len(letter) == 1 and letter.isascii() and letter.isalpha()
        assert not letter.isdigit() and letter not in L.EXCLUDED
    L.check_disjoint(L.LETTERS)
    # the brief's look-alikes (0: O o, 1: I l i, 2: Z z, 5: S s, 6: G b, 7: T, 8: B, 9: g q)
    assert set("OoIliZzSsGbTBgq") <= set(L.EXCLUDED)
    for letter, (digit, why) in L.EXCLUDED.items():
        assert digit.isdigit() and len(digit) == 1 and why
        assert letter.isascii() and letter.isalpha()
    # one case only of a letter whose cases share a shape (it would be two labels for one image)
    assert not any(c.swapcase() in L.LETTERS for c in L.LETTERS if c.upper() in SAME_SHAPE_CASES)


@pytest.mark.parametrize(("letters", "message"), [
    (["A", "0"], "'0' is a digit"),
    (["O"], "'O' looks like the digit 0"),
    (["l"], "'l' looks like the digit 1"),
    (["q"], "'q' looks like the digit 9"),
    (["\u0663"], "is a digit"),                    # ARABIC-INDIC DIGIT THREE
    (["\u039f"], "not a single ASCII letter"),      # GREEK CAPITAL OMICRON, an O look-alike
    (["AB"], "not a single ASCII letter"),
    (["-"], "not a single ASCII letter"),
    (["A", "C", "A"], "'A' is repeated"),
])
def test_check_disjoint_rejects_digits_look_alikes_and_non_letters(letters: list[str],
                                                                   message: str) -> None:
    with pytest.raises(DataError, match=message) as err:
        L.check_disjoint(letters)
    assert "letters" in str(err.value)


def test_make_letter_corpus_checks_its_classes_and_arguments() -> None:
    with pytest.raises(DataError, match="'0' is a digit"):
        L.make_letter_corpus(0, 2, letters=("A", "0"))
    with pytest.raises(ParamError, match="seed"):
        L.make_letter_corpus(-1, 2)
    with pytest.raises(ParamError, match="n_per_letter"):
        L.make_letter_corpus(0, 0)
    with pytest.raises(ParamError, match="n_per_letter"):
        L.make_letter_corpus(0, True)


# --- the corpus ---------------------------------------------------------------------------------
def test_default_corpus_shape_balance_range_and_time(
        timed_corpus: tuple[L.LetterCorpus, float]) -> None:
    corpus, seconds = timed_corpus
    assert corpus.letters == L.LETTERS
    assert corpus.images.shape == (4000, 28, 28) and corpus.images.dtype == np.uint8
    assert corpus.labels.shape == (4000,) and corpus.labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(corpus.labels), np.full(20, 200))
    np.testing.assert_array_equal(corpus.labels, np.repeat(np.arange(20), 200))   # grouped
    # white glyph on black, peaking at 255 as every MNIST digit peaks at 254-255
    assert corpus.images.max(axis=(1, 2)).min() == 255
    # mostly background, as MNIST (~81 % zeros): the glyph covers part of its 20 x 20 box
    assert 0.6 < float(np.mean(corpus.images == 0)) < 0.9
    assert seconds < 10.0                     # the brief's budget (~2 s measured)


def test_same_seed_same_images_other_seed_other_images() -> None:
    letters = ("A", "e", "K")
    first = L.make_letter_corpus(seed=3, n_per_letter=8, letters=letters)
    again = L.make_letter_corpus(seed=3, n_per_letter=8, letters=letters)
    other = L.make_letter_corpus(seed=4, n_per_letter=8, letters=letters)
    assert first.images.tobytes() == again.images.tobytes()
    np.testing.assert_array_equal(first.labels, again.labels)
    assert first.letters == letters
    differs = [not np.array_equal(a, b) for a, b in zip(first.images, other.images, strict=True)]
    assert all(differs)
    # images within a class differ too (random font, size, stroke, rotation, shear, phase)
    assert len({im.tobytes() for im in first.images}) == first.images.shape[0]


def test_mnist_normalisation_centre_of_mass_as_mnist(corpus: L.LetterCorpus,
                                                     mnist: np.ndarray) -> None:
    # MNIST's convention, measured on its digits: the centre of mass is moved to pixel 14 by a
    # whole-pixel translation, so it lies in [13.5, 14.5) on both axes
    mnist_com = centre_of_mass(mnist[:1000])
    assert mnist_com.min() >= 13.5 and mnist_com.max() < 14.5
    com = centre_of_mass(corpus.images)
    assert com.min() >= 13.5 and com.max() < 14.5
    assert np.abs(com.mean(axis=0) - mnist_com.mean(axis=0)).max() < 0.1   # both ~ (14, 14)


def test_mnist_normalisation_fits_the_20_pixel_box(corpus: L.LetterCorpus,
                                                   mnist: np.ndarray) -> None:
    boxes = bounding_boxes(corpus.images)
    assert boxes.max() <= L.BOX_SIDE                  # scaled to fit 20 x 20, no blur outside
    assert bounding_boxes(mnist).max() <= L.BOX_SIDE  # as MNIST's (its reference)
    # the longer side fills the box (up to a faint edge pixel rounded to 0), aspect kept: an
    # "m" is wider than tall, an "L" taller than wide
    assert boxes.max(axis=1).min() >= L.BOX_SIDE - 1
    by_letter = {letter: boxes[corpus.labels == k] for k, letter in enumerate(corpus.letters)}
    assert np.median(by_letter["m"][:, 1] - by_letter["m"][:, 0]) > 2
    assert np.median(by_letter["L"][:, 0] - by_letter["L"][:, 1]) > 2


def test_no_mnist_image_enters_the_corpus(corpus: L.LetterCorpus, mnist: np.ndarray) -> None:
    digits = {im.tobytes() for im in mnist}
    assert not any(im.tobytes() in digits for im in corpus.images)


def test_a_missing_font_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "FONTS", (*L.FONTS[:2], "NoSuchFont-Bold.ttf"))
    with pytest.raises(DataError, match=r"NoSuchFont-Bold\.ttf not found"):
        L.make_letter_corpus(0, 1)


def test_an_unreadable_font_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "Broken.ttf").write_bytes(b"not a font")
    monkeypatch.setattr(L, "font_dir", lambda: tmp_path)
    monkeypatch.setattr(L, "FONTS", ("Broken.ttf",))
    with pytest.raises(DataError, match=r"Broken\.ttf cannot be read"):
        L.make_letter_corpus(0, 1)


def test_renderer_versions_name_what_the_pixels_depend_on() -> None:
    versions = L.renderer_versions()
    assert set(versions) == {"matplotlib", "pillow", "freetype2"}
    assert all(isinstance(v, str) and v for v in versions.values())


# --- the image network --------------------------------------------------------------------------
def test_image_net_shapes_and_layers() -> None:
    net = ImageNet(7, embed_dim=16, seed=0)
    x = torch.rand(5, 1, 28, 28)
    assert net(x).shape == (5, 7)
    assert net.embed(x).shape == (5, 16)
    assert net(x[:, 0]).shape == (5, 7)                      # (N, 28, 28) accepted
    # logits = classifier(embedding); the embedding is a ReLU output
    emb = net.embed(x)
    torch.testing.assert_close(net(x), net.classifier(emb))
    assert (emb >= 0).all()
    with pytest.raises(ParamError, match="x: expected shape"):
        net(torch.rand(5, 3, 28, 28))
    with pytest.raises(ParamError, match="n_classes"):
        ImageNet(1)
    with pytest.raises(ParamError, match="embed_dim"):
        ImageNet(5, embed_dim=0)
    with pytest.raises(ParamError, match="seed"):
        ImageNet(5, seed=-1)


def test_image_net_seeded_init_leaves_the_global_rng_alone() -> None:
    state = torch.get_rng_state()
    a, b, c = ImageNet(20, seed=5), ImageNet(20, seed=5), ImageNet(20, seed=6)
    assert torch.equal(torch.get_rng_state(), state)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["features.0.weight"], sc["features.0.weight"])
    # He-normal (fan_in, ReLU gain): std sqrt(2 / fan_in); biases zero
    w = sa["features.2.weight"]                              # 32 -> 32, 3x3: fan_in 288
    assert abs(float(w.std()) - np.sqrt(2 / 288)) < 0.1 * np.sqrt(2 / 288)
    assert all(float(sa[k].abs().max()) == 0 for k in sa if k.endswith("bias"))


def test_embed_images_scales_by_255_and_is_deterministic() -> None:
    net = ImageNet(4, embed_dim=32, seed=1)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(37, 28, 28), dtype=np.uint8)
    net.train()
    out = embed_images(net, images, batch_size=10)
    assert net.training                                     # mode restored
    assert out.dtype == np.float32 and out.shape == (37, 32)
    assert embed_images(net, images, batch_size=10).tobytes() == out.tobytes()
    with torch.no_grad():
        expected = net.embed(torch.from_numpy(images.astype(np.float32) / 255)).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(embed_images(net, images), out, rtol=1e-5, atol=1e-6)
    with pytest.raises(ParamError, match="images: expected a uint8 array"):
        embed_images(net, images.astype(np.float32) / 255)
    with pytest.raises(ParamError, match="batch_size"):
        embed_images(net, images, batch_size=0)


def test_image_net_learns_the_letters() -> None:
    """5 letters x (100 training + 40 held-out) images, 3 epochs of Adam: far above chance.

    ~2-3 s on one thread of the 2-core machine (no time assertion: it depends on the load)."""
    letters = ("A", "C", "K", "e", "m")
    data = L.make_letter_corpus(seed=1, n_per_letter=140, letters=letters)
    held_out = np.tile(np.arange(140) >= 100, len(letters))     # the last 40 of each letter
    x = torch.from_numpy(data.images.astype(np.float32) / 255).unsqueeze(1)
    y = torch.from_numpy(data.labels)
    train = torch.from_numpy(np.flatnonzero(~held_out))
    net = ImageNet(len(letters), seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    with threads.single_threaded():     # as paper_lib.extract.pretrain trains (reproducible)
        for _ in range(3):
            order = train[torch.randperm(train.numel(), generator=generator)]
            for batch in order.split(32):
                loss = F.cross_entropy(net(x[batch]), y[batch])
                opt.zero_grad()
                loss.backward()
                opt.step()
    net.eval()
    with torch.no_grad():
        accuracy = float((net(x[held_out]).argmax(1) == y[held_out]).float().mean())
    assert accuracy > 0.9, accuracy                            # chance: 0.2
    # the penultimate layer separates the letters too: nearest class mean on embeddings
    emb = embed_images(net, data.images)
    means = np.stack([emb[~held_out & (data.labels == k)].mean(0) for k in range(len(letters))])
    nearest = np.argmin(((emb[held_out, None] - means[None]) ** 2).sum(-1), axis=1)
    assert float(np.mean(nearest == data.labels[held_out])) > 0.8
