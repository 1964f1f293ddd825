"""Turn a real-world digit image into the MNIST input form (784 floats in [0, 1]).

MNIST digits are white ink on black, size-normalised to fit a 20x20 box (aspect kept) and
centred by centre of mass in a 28x28 field. Real clients send something else: RGBA canvases
with a transparent background, phone photos of dark ink on light paper, big off-centre scans
with a speck of dust or a ruled frame, rotated JPEGs, screenshots of a matplotlib figure
with the digit in a dark plot square among ticks and a title. A model trained on MNIST only
sees the distribution it was trained on if every input goes through the same normalisation,
which is why this module is shared by serving (uploads) and spark_jobs (image-folder training
data).

Pure functions over numpy and Pillow, no I/O and no global state, so they are cheap to
property-test and safe to call from any thread.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

__all__ = ["MNIST_SIDE", "to_mnist"]

MNIST_SIDE = 28
_BOX = 20  # the longer side of the digit after scaling, as in the MNIST construction
_WORK_SIDE = 112  # analyse large inputs at this size: plenty for a digit, bounded cost
_INK_THRESHOLD = 0.35  # fraction of full contrast that counts as ink for the bounding box
_FAINT_INK = 0.05  # ink level still counted as part of a stroke's anti-aliased rim
_SPECK_FRACTION = 0.08  # components smaller than this share of the largest one are specks
_FRAME_SPAN = 0.9  # a component spanning this share of the image side is a frame or an edge
_ORIENTATION_TAG = 0x0112
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
_MNIST_AXIS = np.arange(MNIST_SIDE, dtype=np.float32)
_MNIST_AXIS.flags.writeable = False  # shared by every call: read-only keeps it thread-safe
_HIGH_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_MAX_NESTING = 2  # a panel inside a frame inside a page is as deep as screenshots go
_PANEL_SPAN = 0.2  # a panel or frame spans at least this share of both sides of its image
_PANEL_MIN_SIDE = 32  # pixels: no panel search in smaller images (28 px inputs stay as fast)
_PANEL_SHARE = 0.75  # the rectangle spans this share of its component (ticks, labels: the rest)
_LINE_INK = 0.1  # panels are found at this ink level: a thin axes line fades when downscaled
_EDGE_COVER = 0.85  # a rectangle's edge covers this share of the row or column it lies on
_CLOSED_EDGE = 0.95  # share of a rectangle's edge that must be ink (corners may be soft)
_SOLID_FILL = 0.98  # a panel holding a digit leaves more than 1 - this share of it clear
_FEW_COMPONENTS = 8  # up to this many components, areas are counted box by box
_RIM = 0.03  # trimmed from each side of a filled panel: its anti-aliased edge and axes line


def to_mnist(image: Image.Image) -> np.ndarray:
    """Normalise ``image`` to MNIST form: a (784,) float32 vector in [0, 1], ink bright.

    Steps: EXIF orientation, alpha composited on white (or alpha as the ink on a transparent
    canvas), grayscale, polarity detection (light background → inverted), contrast stretch
    against the background level; a digit shown inside a panel or frame (a plot square in a
    figure screenshot, a sheet of paper on a desk) is cropped to that panel and analysed
    again there; then crop to the ink's bounding box ignoring specks and frames, scale the
    longer side to 20 px, paste into 28x28 so the centre of mass sits in the middle. A blank
    image gives zeros.
    """
    return _digit_vector(_without_opaque_alpha(_upright(image)), _MAX_NESTING)


def _digit_vector(image: Image.Image, nesting: int) -> np.ndarray:
    """``to_mnist`` after orientation; ``nesting`` bounds how many panels deep it may look."""
    overview = _grayscale(_shrink(image))
    polarity = _polarity(overview)
    if polarity is None:
        return _blank()
    ink = _normalise(overview, *polarity)
    if ink.shape == (MNIST_SIDE, MNIST_SIDE) and _already_mnist(ink):
        return ink.ravel()
    strokes = _Mask(ink >= _INK_THRESHOLD)
    if nesting > 0 and min(ink.shape) >= _PANEL_MIN_SIDE:
        lines = _Mask(ink >= _LINE_INK)
        if _may_hold_panel(lines, ink.shape):
            # one labelling call for both masks; the strokes' is used when there is no panel
            lines.labelling, strokes.labelling = _components([lines, strokes])
            inside = _inside_panel(image, ink.shape, lines.labelling, nesting)
            if inside is not None:
                return inside
    box = _digit_box(ink, strokes)
    if box is None:
        return _blank()
    if overview.shape != (image.height, image.width):
        ink, box = _detail(image, overview.shape, box, polarity)
    top, bottom, left, right = box
    digit = _scale_to_box(ink[top:bottom, left:right])
    return _centre_by_mass(digit).ravel()


def _blank() -> np.ndarray:
    return np.zeros(MNIST_SIDE * MNIST_SIDE, dtype=np.float32)


def _may_hold_panel(lines: _Mask, shape: tuple[int, int]) -> bool:
    """False when no component of ``lines`` can span a panel's share of both sides (its
    bounding box does not), so the panel search needs no labelling."""
    if lines.box is None:
        return False
    top, bottom, left, right = lines.box
    return bottom - top >= _PANEL_SPAN * shape[0] and right - left >= _PANEL_SPAN * shape[1]


def _inside_panel(
    image: Image.Image, shape: tuple[int, int], lines: _Labelling, nesting: int
) -> np.ndarray | None:
    """The digit found inside the largest panel or frame, or None when there is none.

    Screenshots of a plot show the digit in a dark square on a light page, among tick labels
    and a title; taken as a whole, the square itself would be the ink. Inside the panel the
    background and the ink are the digit's own again. An empty panel gives None, so a solid
    block that merely looks like a panel is still treated as ink by the caller. ``lines``
    labels the overview (of ``shape``) at the faint ink level that keeps thin axes lines.
    """
    panel = _panel(lines, shape)
    if panel is None:
        return None
    region = _full_region(image, shape, panel)
    vector = _digit_vector(image.crop(region), nesting - 1)
    return vector if vector.any() else None


def _full_region(
    image: Image.Image, shape: tuple[int, int], box: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    """Map an overview box (top, bottom, left, right) to a Pillow crop box in ``image``."""
    factor_y, factor_x = image.height / shape[0], image.width / shape[1]
    top, bottom, left, right = box
    return (
        max(0, int(left * factor_x)),
        max(0, int(top * factor_y)),
        min(image.width, math.ceil(right * factor_x)),
        min(image.height, math.ceil(bottom * factor_y)),
    )


def _panel(labelling: _Labelling, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Interior (top, bottom, left, right) of the largest rectangular panel or frame, if any."""
    height, width = shape
    large = [
        c
        for c in labelling.components
        if c.bottom - c.top >= _PANEL_SPAN * height and c.right - c.left >= _PANEL_SPAN * width
    ]
    for c in sorted(large, key=lambda c: (c.bottom - c.top) * (c.right - c.left), reverse=True):
        interior = _rectangle_interior(labelling.own(c))
        if interior is not None:
            top, bottom, left, right = interior
            return c.top + top, c.top + bottom, c.left + left, c.left + right
    return None


def _rectangle_interior(own: np.ndarray) -> tuple[int, int, int, int] | None:
    """Inside of the rectangle that ``own`` (one component, cropped to its box) outlines or
    fills, or None when the component is not a rectangle.

    A rectangle's top and bottom edges are rows it almost fully covers, its sides are such
    columns, they lie far apart, and together they close the rectangle without a gap; ticks
    or a caption glued to it do not change that. A heavy digit can have nearly full rows and
    columns (the bars of a bold 5), but not four unbroken edges. A filled panel is trimmed
    by its rim (anti-aliasing, the axes line); an outline by its line width.
    """
    height, width = own.shape
    full_rows = np.flatnonzero(_share(own, 1, width) >= _EDGE_COVER)
    if full_rows.size < 2:  # most digits stop here: the columns need not be counted
        return None
    full_cols = np.flatnonzero(_share(own, 0, height) >= _EDGE_COVER)
    if full_cols.size < 2:
        return None
    top, bottom = int(full_rows[0]), int(full_rows[-1]) + 1
    left, right = int(full_cols[0]), int(full_cols[-1]) + 1
    if min(bottom - top, right - left) < _BOX:
        return None
    if bottom - top < _PANEL_SHARE * height or right - left < _PANEL_SHARE * width:
        return None
    if not _closed(own[top:bottom, left:right]):
        return None
    inside = own[top:bottom, left:right]
    fill = np.count_nonzero(inside) / inside.size
    if fill > _SOLID_FILL:  # a block of ink with nothing inside: a thick stroke, not a panel
        return None
    if fill >= 0.5:  # a filled panel
        rim = max(1, round(_RIM * min(bottom - top, right - left)))
        top, bottom, left, right = top + rim, bottom - rim, left + rim, right - rim
    else:  # an outline: step over its line width on every side
        top, bottom = _past_run(full_rows, top, 1), _past_run(full_rows[::-1], bottom - 1, -1)
        left, right = _past_run(full_cols, left, 1), _past_run(full_cols[::-1], right - 1, -1)
        bottom, right = bottom + 1, right + 1
    if bottom - top < 2 or right - left < 2:
        return None
    return top, bottom, left, right


def _closed(rectangle: np.ndarray) -> bool:
    """True when the outermost rows and columns of ``rectangle`` are ink without a real gap
    (a corner pixel lost to anti-aliasing is not one)."""
    depth = max(2, round(_RIM * min(rectangle.shape)))
    edges = (
        rectangle[:depth].any(axis=0),
        rectangle[-depth:].any(axis=0),
        rectangle[:, :depth].any(axis=1),
        rectangle[:, -depth:].any(axis=1),
    )
    return all(np.count_nonzero(edge) / edge.size >= _CLOSED_EDGE for edge in edges)


def _share(mask: np.ndarray, axis: int, length: int) -> np.ndarray:
    """Share of True along ``axis`` (of ``length``): ``mask.mean(axis)``, the same float64
    values (an exact integer count divided once), without a float64 pass over the mask."""
    return mask.sum(axis=axis) / length


def _past_run(indices: np.ndarray, start: int, step: int) -> int:
    """First index after the run of consecutive ``indices`` that begins at ``start``."""
    position = start
    members = set(indices.tolist())
    while position + step in members:
        position += step
    return position + step


def _already_mnist(ink: np.ndarray) -> bool:
    """True for input already in MNIST form: normalising it again would be (nearly) identity.

    MNIST digits have a 20 px bounding box and the centre of mass within half a pixel of
    (14, 14); re-running crop, scale and centring on them only resamples the pixels, so the
    common case of a client sending MNIST-style 28x28 images is answered from the input as is.
    """
    rows = np.flatnonzero(ink.max(axis=1) > _FAINT_INK)
    cols = np.flatnonzero(ink.max(axis=0) > _FAINT_INK)
    if rows.size == 0 or max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 != _BOX:
        return False
    total = float(ink.sum())
    axis = _MNIST_AXIS
    centre_y = float(ink.sum(axis=1) @ axis) / total
    centre_x = float(ink.sum(axis=0) @ axis) / total
    half = MNIST_SIDE / 2
    return abs(centre_y - half) <= 0.5 and abs(centre_x - half) <= 0.5


def _detail(
    image: Image.Image, shape: tuple[int, int], box: tuple[int, ...], polarity: tuple[bool, float]
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Re-read the digit's region from the full-resolution image.

    The box was found on a downscaled overview; a small digit on a big page would be only a
    few pixels there, so the crop is taken from the original and analysed at up to 112 px.
    """
    factor_y, factor_x = image.height / shape[0], image.width / shape[1]
    top, bottom, left, right = box
    region = (
        max(0, int((left - 1) * factor_x)),
        max(0, int((top - 1) * factor_y)),
        min(image.width, math.ceil((right + 1) * factor_x)),
        min(image.height, math.ceil((bottom + 1) * factor_y)),
    )
    ink = _normalise(_grayscale(_shrink(image.crop(region))), *polarity)
    rows = np.flatnonzero(ink.max(axis=1) > _FAINT_INK)
    cols = np.flatnonzero(ink.max(axis=0) > _FAINT_INK)
    if rows.size == 0:
        return ink, (0, ink.shape[0], 0, ink.shape[1])
    return ink, (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1)


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (phones store rotated pixels plus a tag)."""
    try:
        orientation = image.getexif().get(_ORIENTATION_TAG, 1)
    except (OSError, ValueError, SyntaxError):  # unreadable EXIF: treat as upright
        return image
    if orientation in (None, 1):
        return image
    return ImageOps.exif_transpose(image)


def _without_opaque_alpha(image: Image.Image) -> Image.Image:
    """An RGBA or LA image whose alpha is 255 everywhere, as RGB or L: same answer, cheaper.

    Composited on white, an opaque pixel is its own luminance (times 1.0, plus 0.0), and the
    luminance of RGBA is that of its RGB. Resizing premultiplies the alpha (RGBa), which at 255
    is the identity both ways, resamples each colour channel as RGB would and keeps the alpha
    at 255. So every step gives the same values without a fourth channel and two conversions
    per resize. Screenshots are the usual case (matplotlib's savefig writes opaque RGBA).
    """
    if image.mode not in ("RGBA", "LA") or 0 in image.size:
        return image
    if image.getpixel((0, 0))[-1] != 255:  # a transparent corner: not opaque, skip the scan
        return image
    if image.getchannel("A").getextrema() != (255, 255):
        return image
    return image.convert("RGB" if image.mode == "RGBA" else "L")


def _grayscale(image: Image.Image) -> np.ndarray:
    """Return a float32 array in [0, 1] (1 = white paper) with alpha composited on white.

    On a transparent canvas (the border mostly transparent) the alpha alone is the ink: a
    drawing app may store white or coloured strokes there, which on white would vanish.
    """
    image = _shrink(image)
    mode = image.mode
    if mode in _HIGH_BIT_MODES:
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        return (values - low) / (high - low) if high > low else np.ones_like(values)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        if mode != "L":
            image = image.convert("L")
        return _bytes(image) * np.float32(1 / 255)
    pair = _bytes(image.convert("LA")) * np.float32(1 / 255)
    luminance, alpha = pair[..., 0], pair[..., 1]
    if _median(_border_band(alpha)) < 0.5:  # a transparent canvas: the strokes' alpha is the ink
        return 1.0 - alpha
    return luminance * alpha + (1.0 - alpha)


def _bytes(image: Image.Image) -> np.ndarray:
    """The pixels of an "L" (height, width) or "LA" (height, width, 2) image as uint8.

    What ``np.asarray(image)`` gives, read straight from the raw bytes; scaling the uint8
    values by a float32 factor gives float32 (exact casts), as scaling asarray's float32 did.
    """
    shape = (image.height, image.width) if image.mode == "L" else (image.height, image.width, 2)
    return np.frombuffer(image.tobytes(), dtype=np.uint8).reshape(shape)


def _shrink(image: Image.Image) -> Image.Image:
    """Downscale large inputs before analysis; the digit ends up 20 px tall anyway."""
    width, height = image.size
    longest = max(width, height)
    if longest <= _WORK_SIDE:
        return image
    if image.mode in ("P", "1"):
        image = image.convert("RGBA" if "transparency" in image.info else "L")
    scale = _WORK_SIDE / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.BOX)


def _polarity(gray: np.ndarray) -> tuple[bool, float] | None:
    """(invert?, background level after inversion), or None for a blank image.

    The background level is the median of a border band: digits rarely cover most of the
    border, while a thin frame covers only a small part of a band 1/8 of the side wide.
    """
    background = _median(_border_band(gray))
    invert = background > 0.5
    level = 1.0 - background if invert else background
    peak = float(gray.min() if invert else gray.max())
    if abs(peak - background) < 0.1:  # no contrast at all: nothing was drawn
        return None
    return invert, level


def _normalise(gray: np.ndarray, invert: bool, level: float) -> np.ndarray:
    """Ink intensity in [0, 1]: background at 0, the strongest ink at 1."""
    ink = 1.0 - gray if invert else gray.copy()
    peak = float(ink.max())
    ink -= level
    ink *= np.float32(1.0 / max(peak - level, 1e-6))
    return np.clip(ink, 0.0, 1.0, out=ink)


def _median(values: np.ndarray) -> float:
    return float(np.partition(values, values.size // 2)[values.size // 2])


def _border_band(gray: np.ndarray) -> np.ndarray:
    height, width = gray.shape
    depth_y, depth_x = max(1, height // 8), max(1, width // 8)
    return np.concatenate(
        [
            gray[:depth_y].ravel(),
            gray[-depth_y:].ravel(),
            gray[:, :depth_x].ravel(),
            gray[:, -depth_x:].ravel(),
        ]
    )


def _digit_box(ink: np.ndarray, strokes: _Mask) -> tuple[int, int, int, int] | None:
    """Bounding box (top, bottom, left, right) of the ink, without specks and frames.

    ``strokes`` is the ink at the stroke level (``_INK_THRESHOLD``), labelled or not yet.
    """
    if strokes.box is None:
        return None
    if strokes.labelling is None:
        (strokes.labelling,) = _components([strokes])
    kept = _keep_digit(strokes.labelling.components, ink.shape)
    if not kept:
        return None
    top = min(c.top for c in kept)
    bottom = max(c.bottom for c in kept)
    left = min(c.left for c in kept)
    right = max(c.right for c in kept)
    return _include_faint_edges(ink, (top, bottom, left, right))


def _include_faint_edges(ink: np.ndarray, box: tuple[int, int, int, int]) -> tuple[int, ...]:
    """Grow the box by a pixel or two to take in the anti-aliased rim of the strokes.

    The component threshold is high so that noise does not connect blobs, but cutting the
    faint rim off would enlarge every digit slightly compared with MNIST's own framing.
    """
    height, width = ink.shape
    top, bottom, left, right = box
    margin = max(1, round(0.02 * max(bottom - top, right - left)))
    top, left = max(0, top - margin), max(0, left - margin)
    bottom, right = min(height, bottom + margin), min(width, right + margin)
    window = ink[top:bottom, left:right]
    rows = np.flatnonzero(window.max(axis=1) > _FAINT_INK)
    cols = np.flatnonzero(window.max(axis=0) > _FAINT_INK)
    return top + rows[0], top + rows[-1] + 1, left + cols[0], left + cols[-1] + 1


class _Component:
    """An 8-connected blob of ink pixels: its label, area and bounding box (end-exclusive)."""

    __slots__ = ("area", "bottom", "label", "left", "right", "top")

    def __init__(self, label: int, area: int, top: int, bottom: int, left: int, right: int):
        self.label, self.area = label, area
        self.top, self.bottom, self.left, self.right = top, bottom, left, right


class _Labelling:
    """The components of an ink mask and their label image, kept for the mask's bounding box
    only (``top``, ``left`` is where that box starts in the mask)."""

    __slots__ = ("components", "labels", "left", "top")

    def __init__(self, labels: np.ndarray, top: int, left: int, components: list[_Component]):
        self.labels, self.top, self.left, self.components = labels, top, left, components

    def own(self, c: _Component) -> np.ndarray:
        """The pixels of component ``c`` within its box, as a boolean array."""
        window = self.labels[
            c.top - self.top : c.bottom - self.top, c.left - self.left : c.right - self.left
        ]
        return window if window.dtype == bool else window == c.label


class _Mask:
    """An ink mask, its bounding box (None when empty) and, once labelled, its components."""

    __slots__ = ("box", "labelling", "mask")

    def __init__(self, mask: np.ndarray):
        self.mask, self.box, self.labelling = mask, _mask_box(mask), None

    @property
    def window(self) -> np.ndarray:
        top, bottom, left, right = self.box
        return self.mask[top:bottom, left:right]


def _mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box (top, bottom, left, right) of a boolean mask, or None when it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _components(masks: list[_Mask]) -> list[_Labelling | None]:
    """The 8-connected components of each mask (None for an empty one), in one labelling.

    scipy's C labelling (scipy comes with scikit-learn) keeps this off the request's hot path.
    It runs on each mask's bounding box only (the empty margin holds no component), with the
    boxes stacked one under another, a blank row between them, so that a single call (its
    set-up costs as much as labelling a small mask) serves every mask. Labels are numbered in
    raster order, which neither cropping empty rows and columns nor stacking changes: each
    mask's components keep the order they would have on their own.
    """
    present = [m for m in masks if m.box is not None]
    windows = [m.window for m in present]
    if len(windows) == 1:
        stacked = windows[0]
    else:
        stacked = np.zeros(
            (sum(w.shape[0] + 1 for w in windows) - 1, max(w.shape[1] for w in windows)), bool
        )
        row = 0
        for window in windows:
            stacked[row : row + window.shape[0], : window.shape[1]] = window
            row += window.shape[0] + 1
    labels, count = ndimage.label(stacked, structure=_EIGHT_CONNECTED)
    if count == len(windows):  # the common case, one stroke each: boxes and areas are the masks'
        found = {
            id(m): _Labelling(w, m.box[0], m.box[2], [_Component(1, np.count_nonzero(w), *m.box)])
            for m, w in zip(present, windows, strict=True)
        }
        return [found.get(id(m)) for m in masks]
    boxes = ndimage.find_objects(labels, count)
    if count <= _FEW_COMPONENTS:  # counted inside each box: cheaper than a full bincount
        areas = [
            int(np.count_nonzero(labels[box] == label)) for label, box in enumerate(boxes, start=1)
        ]
    else:
        areas = np.bincount(labels.ravel(), minlength=count + 1)[1:].tolist()
    found, row, label = {}, 0, 0
    for m, window in zip(present, windows, strict=True):
        height, width = window.shape
        top, left = m.box[0], m.box[2]
        components = []
        while label < count and boxes[label][0].start < row + height:
            rows, cols = boxes[label]
            components.append(
                _Component(
                    label + 1,
                    areas[label],
                    top + rows.start - row,
                    top + rows.stop - row,
                    left + cols.start,
                    left + cols.stop,
                )
            )
            label += 1
        found[id(m)] = _Labelling(labels[row : row + height, :width], top, left, components)
        row += height + 1
    return [found.get(id(m)) for m in masks]


def _keep_digit(components: list[_Component], shape: tuple[int, int]) -> list[_Component]:
    """Drop frames/edges (components spanning the image) and specks (tiny next to the digit)."""
    height, width = shape

    def is_frame(c: _Component) -> bool:
        tall = (c.bottom - c.top) >= _FRAME_SPAN * height
        wide = (c.right - c.left) >= _FRAME_SPAN * width
        thin = c.area <= 0.5 * (c.bottom - c.top) * (c.right - c.left)
        return (
            (tall and wide and thin)
            or (tall and (c.right - c.left) <= 0.1 * width)
            or (wide and (c.bottom - c.top) <= 0.1 * height)
        )

    candidates = [c for c in components if not is_frame(c)] or components
    largest = max(c.area for c in candidates)
    return [c for c in candidates if c.area >= _SPECK_FRACTION * largest]


def _scale_to_box(crop: np.ndarray) -> np.ndarray:
    """Scale so the longer side is 20 px, keeping the aspect ratio (anti-aliased)."""
    height, width = crop.shape
    scale = _BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    pixels = np.ascontiguousarray(crop, dtype=np.float32)
    source = Image.frombuffer("F", (width, height), pixels, "raw", "F", 0, 1)
    resized = source.resize(
        size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR
    )
    values = np.frombuffer(resized.tobytes(), dtype=np.float32).reshape(size[1], size[0])
    return np.clip(values, 0.0, 1.0)


def _centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place ``digit`` in 28x28 with its centre of mass at the centre of the field.

    The offset is applied with sub-pixel precision (bilinear), so the output varies smoothly
    with the input instead of jumping a whole pixel when the centre crosses a half pixel.
    """
    height, width = digit.shape
    total = float(digit.sum())
    if total > 0:
        centre_y = float(digit.sum(axis=1) @ _MNIST_AXIS[:height]) / total
        centre_x = float(digit.sum(axis=0) @ _MNIST_AXIS[:width]) / total
    else:
        centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    middle = MNIST_SIDE / 2  # MNIST puts the centre of mass at pixel (14, 14)
    top = float(min(max(middle - centre_y, 0), MNIST_SIDE - height))  # np.clip, in plain Python
    left = float(min(max(middle - centre_x, 0), MNIST_SIDE - width))
    row, frac_y = int(top), top - int(top)
    col, frac_x = int(left), left - int(left)
    # Bilinear split of every pixel over the four it lands on: keeps mass and centre exact.
    field = np.zeros((MNIST_SIDE + 1, MNIST_SIDE + 1), dtype=np.float32)
    for dy, weight_y in ((0, 1.0 - frac_y), (1, frac_y)):
        for dx, weight_x in ((0, 1.0 - frac_x), (1, frac_x)):
            if weight_y * weight_x > 0:
                field[row + dy : row + dy + height, col + dx : col + dx + width] += (
                    digit * np.float32(weight_y * weight_x)
                )
    return np.clip(field[:MNIST_SIDE, :MNIST_SIDE], 0.0, 1.0)
