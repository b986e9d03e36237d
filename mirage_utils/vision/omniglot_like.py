"""Omniglot (Lake et al. 2015) when a reader has it, otherwise a named Omniglot-like substitute built offline: letters
of ~50 scripts rendered from Debian's Noto fonts, 20 seeded distortions of each, split by alphabet like Omniglot.

Both come back as :class:`CharacterImages` (28x28, ink bright, global character and alphabet ids) from :func:`load`.
:func:`build` writes the substitute reproducibly (same inputs and seed -> same bytes): an ``.npz`` of uint8 arrays,
a JSON manifest (alphabets, code points, font files with SHA-256, seed, package versions) and a ``SHA256SUMS`` file.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from ..data import DATA_DIR_ENV, REPO_ROOT, DataFileError, sha256_of

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from PIL.ImageFont import FreeTypeFont

_T = TypeVar("_T")

# 28x28, not Omniglot's 105x105: the size few-shot work usually downsamples Omniglot to, the input of the book's
# models (MNIST-sized), and 14x fewer pixels: 32 MB for the whole set uncompressed (7.5 MB packed), not 450 MB.
SIZE = 28
EXEMPLARS = 20  # Omniglot: 20 drawers per character
SEED = 0
# SHA-256 of omniglot_like.npz built with SEED here (fonts-noto-core 20201225-1, Pillow 13.0.0 / FreeType 2.14.3, scipy
# 1.17.1): other versions may render other bytes, and the manifest records which ones were used.
REFERENCE_SHA256 = "ae8a64a695475a56d73e9a825040b994c40595712bafcb9baee88431429973d3"
MAX_PER_ALPHABET = 55  # Omniglot's largest alphabet (Tifinagh) has 55 characters
BACKGROUND_FRACTION = 0.6  # Omniglot: 30 of 50 alphabets in images_background, 20 in images_evaluation
SPLITS = ("background", "evaluation", "all")
FONT_PACKAGE = "fonts-noto-core"
FONT_DIR = Path("/usr/share/fonts/truetype/noto")
# The reference build ships with the repository (7.5 MB), so a reader needs no fonts; the fonts are needed only to
# rebuild it (`python -m mirage_utils datasets omniglot-like`, which says whether it reproduced REFERENCE_SHA256).
DEFAULT_DIR = REPO_ROOT / "data" / "artifacts" / "omniglot-like"
REBUILD_DIR = REPO_ROOT / "data" / "cache" / "omniglot-like"  # where the CLI rebuilds it by default (ignored by git)
ARRAY_FILE, MANIFEST_FILE, SUMS_FILE = "omniglot_like.npz", "manifest.json", "SHA256SUMS"
SUBSTITUTE_NAME = "Omniglot-like (Noto-font letters of many scripts, seeded distortions) [substitute for Omniglot]"
OMNIGLOT_NAME = "Omniglot"

# Rendering geometry: glyphs are drawn at 4x the output size, then area-averaged down (antialiasing for free).
_SCALE = 4
_CANVAS = SIZE * _SCALE  # 112
_BOX = 20 * _SCALE  # the glyph's longer side fills 20 of 28 pixels, like MNIST's digits
_PEN = 4.5  # target stroke half-width at 4x (~2.2 px wide at 28x28: a pen, not a font's thick/thin contrast)


@dataclass(frozen=True)
class Script:
    """One alphabet of the substitute: a name, the Noto font file drawing it, and code point ranges (inclusive)."""

    name: str
    font: str
    ranges: tuple[tuple[int, int], ...]
    categories: tuple[str, ...] = ("Lo", "Lu")  # Unicode letter categories kept; "Ll" only where named


def _s(name: str, font: str, *ranges: tuple[int, int], categories: tuple[str, ...] = ("Lo", "Lu")) -> Script:
    return Script(name, f"Noto{font}-Regular.ttf", tuple(ranges), categories)


#: 50 scripts, as in Omniglot; most of Omniglot's own real scripts first (names in brackets are Omniglot's).
SCRIPTS: tuple[Script, ...] = (
    _s("Latin", "Sans", (0x41, 0x5A)),
    _s("Greek", "Sans", (0x3B1, 0x3C9), categories=("Ll",)),
    _s("Cyrillic", "Sans", (0x410, 0x42F)),
    _s("Armenian", "SansArmenian", (0x531, 0x556)),
    _s("Georgian (Mkhedruli)", "SansGeorgian", (0x10D0, 0x10FA), categories=("Lo", "Ll")),
    _s("Georgian (Asomtavruli)", "SansGeorgian", (0x10A0, 0x10C5)),
    _s("Runic (Anglo-Saxon Futhorc)", "SansRunic", (0x16A0, 0x16EA)),
    _s("Balinese", "SansBalinese", (0x1B05, 0x1B33)),
    _s("Bengali", "SansBengali", (0x985, 0x9B9)),
    _s("Canadian Aboriginal Syllabics", "SansCanadianAboriginal", (0x1401, 0x166C)),
    _s("Myanmar (Burmese)", "SansMyanmar", (0x1000, 0x102A)),
    _s("Imperial Aramaic (Early Aramaic)", "SansImperialAramaic", (0x10840, 0x10855)),
    _s("Grantha", "SansGrantha", (0x11305, 0x11339)),
    _s("Gujarati", "SansGujarati", (0xA85, 0xAB9)),
    _s("Hebrew", "SansHebrew", (0x5D0, 0x5EA)),
    _s("Arabic (Jawi)", "SansArabic", (0x621, 0x64A)),
    _s("N'Ko", "SansNKo", (0x7CA, 0x7EA)),
    _s("Devanagari (Sanskrit)", "SansDevanagari", (0x904, 0x939)),
    _s("Syriac", "SansSyriac", (0x710, 0x72F)),
    _s("Tagalog", "SansTagalog", (0x1700, 0x171F)),
    _s("Tifinagh", "SansTifinagh", (0x2D30, 0x2D67)),
    _s("Avestan", "SansAvestan", (0x10B00, 0x10B35)),
    _s("Ethiopic (Ge'ez)", "SansEthiopic", (0x1200, 0x135A)),
    _s("Glagolitic", "SansGlagolitic", (0x2C00, 0x2C2E)),
    _s("Gurmukhi", "SansGurmukhi", (0xA05, 0xA39)),
    _s("Kannada", "SansKannada", (0xC85, 0xCB9)),
    _s("Malayalam", "SansMalayalam", (0xD05, 0xD3A)),
    _s("Meetei Mayek (Manipuri)", "SansMeeteiMayek", (0xABC0, 0xABE2)),
    _s("Mongolian", "SansMongolian", (0x1820, 0x1878)),
    _s("Oriya", "SansOriya", (0xB05, 0xB39)),
    _s("Syloti Nagri (Sylheti)", "SansSylotiNagri", (0xA800, 0xA82B)),
    _s("Tibetan", "SerifTibetan", (0xF40, 0xF6C)),
    _s("Cherokee", "SansCherokee", (0x13A0, 0x13F5)),
    _s("Thai", "SansThai", (0xE01, 0xE2E)),
    _s("Lao", "SansLao", (0xE81, 0xEAE)),
    _s("Khmer", "SansKhmer", (0x1780, 0x17B3)),
    _s("Sinhala", "SansSinhala", (0xD85, 0xDC6)),
    _s("Telugu", "SansTelugu", (0xC05, 0xC39)),
    _s("Tamil", "SansTamil", (0xB85, 0xBB9)),
    _s("Javanese", "SansJavanese", (0xA984, 0xA9B2)),
    _s("Thaana", "SansThaana", (0x780, 0x7A5)),
    _s("Vai", "SansVai", (0xA500, 0xA60B)),
    _s("Yi", "SansYi", (0xA000, 0xA48C)),
    _s("Ogham", "SansOgham", (0x1681, 0x169A)),
    _s("Osage", "SansOsage", (0x104B0, 0x104D3)),
    _s("Deseret", "SansDeseret", (0x10400, 0x10427)),
    _s("Old Italic", "SansOldItalic", (0x10300, 0x1031F)),
    _s("Old Turkic", "SansOldTurkic", (0x10C00, 0x10C48)),
    _s("Phoenician", "SansPhoenician", (0x10900, 0x10915)),
    _s("Bamum", "SansBamum", (0xA6A0, 0xA6E5)),
)


@dataclass(frozen=True)
class CharacterImages:
    """Images of handwritten-like characters with Omniglot's structure.

    ``images`` is uint8 (n, 28, 28) with ink bright (255) on black, like MNIST. ``character`` and ``alphabet`` are
    global ids (the same across splits, so background and evaluation never share one); their names are
    ``character_names[id]`` and ``alphabet_names[id]``. ``exemplar`` is the drawer (Omniglot) or distortion index.
    """

    images: NDArray[np.uint8]
    character: NDArray[np.int64]
    alphabet: NDArray[np.int64]
    exemplar: NDArray[np.int64]
    character_names: tuple[str, ...]
    alphabet_names: tuple[str, ...]
    name: str
    split: str

    @property
    def x(self) -> NDArray[np.float32]:
        """Images as float32 in [0, 1] with a channel axis, (n, 1, 28, 28): what the vision models take."""
        return (self.images.astype(np.float32) / 255.0)[:, None]

    @property
    def n_characters(self) -> int:
        return int(np.unique(self.character).size)


# ---------------------------------------------------------------------------------------------------------------
# Rendering the substitute


def _font_path(font_dir: Path, name: str) -> Path:
    path = font_dir / name
    if not path.is_file():
        raise DataFileError(
            f"font {path} is missing: install Debian's {FONT_PACKAGE} "
            f"(`apt-get install -y {FONT_PACKAGE}`) or pass font_dir="
        )
    return path


def _fit(ink: NDArray[np.float32]) -> NDArray[np.float32] | None:
    """Crop to the ink, scale the longer side to the glyph box and centre on the 4x canvas; None if blank."""
    from PIL import Image

    rows, cols = np.nonzero(ink > 0.1)
    if rows.size < 4:
        return None
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = crop.shape
    f = _BOX / max(h, w)
    nh, nw = max(1, round(h * f)), max(1, round(w * f))
    img = Image.fromarray(np.round(crop * 255).astype(np.uint8)).resize((nw, nh), Image.Resampling.LANCZOS)
    out = np.zeros((_CANVAS, _CANVAS), np.float32)
    top, left = (_CANVAS - nh) // 2, (_CANVAS - nw) // 2
    out[top : top + nh, left : left + nw] = np.asarray(img, np.float32) / 255.0
    return out


def _render(font: FreeTypeFont, text: str) -> NDArray[np.float32] | None:
    """One glyph drawn large (no shaping: the font's own glyph for that code point), fitted to the canvas."""
    from PIL import Image, ImageDraw

    size = cast(int, font.size) * 4  # fonts are opened with an integer size
    img = Image.new("L", (size, size), 0)
    ImageDraw.Draw(img).text((size // 2, size // 2), text, font=font, fill=255, anchor="mm")
    return _fit(np.asarray(img, np.float32) / 255.0)


def _downsample(canvas: NDArray[np.float32]) -> NDArray[np.float32]:
    return cast(NDArray[np.float32], canvas.reshape(SIZE, _SCALE, SIZE, _SCALE).mean(axis=(1, 3)))


@dataclass(frozen=True)
class _Glyph:
    code_point: int
    sdf: NDArray[np.float32]  # signed distance to the stroke edge at 4x, negative inside
    pen: float  # how far to move the edge outwards to reach the target pen width
    prototype: NDArray[np.float32]  # undistorted 28x28, for duplicate checks


def _glyph(font: FreeTypeFont, code_point: int) -> _Glyph | None:
    from scipy import ndimage

    canvas = _render(font, chr(code_point))
    if canvas is None:
        return None
    mask = canvas >= 0.5
    if mask.sum() < 20:
        return None
    inside = ndimage.distance_transform_edt(mask)
    sdf = (ndimage.distance_transform_edt(~mask) - inside).astype(np.float32)
    half = 2.0 * float(inside[mask].mean())  # a stroke of width w has mean inner distance w/4
    pen = float(np.clip(_PEN - half, -0.5 * half, 3.0))
    return _Glyph(code_point, sdf, pen, _downsample(canvas))


# Elastic warp: a 5x5 grid of random displacements spread smoothly over the canvas by a fixed Gaussian basis.
_GRID = np.linspace(0, _CANVAS - 1, 5)
_BASIS = np.exp(-0.5 * ((np.arange(_CANVAS)[:, None] - _GRID[None]) / (_GRID[1] - _GRID[0])) ** 2)
_BASIS /= _BASIS.sum(axis=1, keepdims=True)
_COORDS = (
    np.stack(cast("Sequence[NDArray[np.intp]]", np.mgrid[0:_CANVAS, 0:_CANVAS])).astype(np.float64)
    - (_CANVAS - 1) / 2.0
)


def _exemplar(glyph: _Glyph, seed: int, index: int) -> NDArray[np.uint8]:
    """One seeded distortion: affine (rotation, shear, scale, shift), elastic warp, stroke width, ink and speckle noise.

    The generator is keyed by (seed, code point, exemplar), so an exemplar does not depend on which other characters
    are built. The warp moves the signed distance field, and the stroke is re-drawn from it at the new width.
    """
    from scipy import ndimage

    gen = np.random.default_rng([seed, glyph.code_point, index])
    angle = np.deg2rad(gen.uniform(-12, 12))
    shear = gen.uniform(-0.25, 0.25)
    sy, sx = np.exp(gen.uniform(-0.12, 0.08, size=2))
    shift = gen.uniform(-1.5, 1.5, size=2) * _SCALE
    cos, sin = np.cos(angle), np.sin(angle)
    forward = np.array([[sy * cos, -sy * sin], [sx * (sin + shear * cos), sx * (cos - shear * sin)]])
    coarse = gen.normal(0.0, 1.5 * _SCALE, size=(2, 5, 5))  # elastic amplitude ~1.5 px at 28x28 before smoothing
    flow = np.stack([_BASIS @ c @ _BASIS.T for c in coarse])
    src = np.einsum("ij,jhw->ihw", np.linalg.inv(forward), _COORDS - shift[:, None, None])
    src += (_CANVAS - 1) / 2.0 + flow
    sdf = ndimage.map_coordinates(glyph.sdf, src, order=1, mode="nearest")
    width = glyph.pen + gen.uniform(-1.5, 2.0)
    ink = np.clip(0.5 - (sdf - width), 0.0, 1.0)  # antialiased edge one 4x-pixel wide
    small = _downsample(ink) * gen.uniform(0.75, 1.0)  # pen pressure
    spots = gen.integers(0, SIZE, size=(gen.poisson(2.0), 2))  # speckle: a few stray dots
    small[spots[:, 0], spots[:, 1]] = np.maximum(small[spots[:, 0], spots[:, 1]], gen.uniform(0.2, 0.6, len(spots)))
    return cast(NDArray[np.uint8], np.round(np.clip(small, 0.0, 1.0) * 255).astype(np.uint8))


def _candidates(script: Script, cmap: dict[int, str]) -> tuple[list[int], int]:
    """Code points of the script's letter categories that the font maps, and how many letters it lacks."""
    letters = [
        cp for lo, hi in script.ranges for cp in range(lo, hi + 1) if unicodedata.category(chr(cp)) in script.categories
    ]
    have = [cp for cp in letters if cp in cmap]
    return have, len(letters) - len(have)


def _evenly(items: list[_T], n: int) -> list[_T]:
    """``n`` items spread evenly over the list (all of them if it is no longer)."""
    if len(items) <= n:
        return list(items)
    return [items[i] for i in np.unique(np.round(np.linspace(0, len(items) - 1, n)).astype(int))]


def _select(
    scripts: tuple[Script, ...], max_per_alphabet: int, font_dir: Path, duplicate_tol: float = 0.02
) -> tuple[list[list[_Glyph]], dict[str, int]]:
    """Per script, the glyphs kept: mapped by the font's cmap, of a letter category, not blank, not the font's
    .notdef "tofu" box, and not a near-copy (mean |difference| < ``duplicate_tol`` on the undistorted 28x28
    prototypes) of a glyph kept before, in this script or an earlier one. Large scripts are thinned evenly over code
    point order to ``max_per_alphabet``. Also returns how many candidates each rule removed."""
    from fontTools.ttLib import TTFont
    from PIL import ImageFont

    if not scripts:
        raise ValueError("need at least one script")
    if len({s.name for s in scripts}) != len(scripts):
        raise ValueError("script names must be unique")
    if isinstance(max_per_alphabet, bool) or not isinstance(max_per_alphabet, int) or max_per_alphabet < 1:
        raise ValueError(f"max_per_alphabet must be an integer >= 1, got {max_per_alphabet!r}")
    skipped = {"not in font": 0, "blank": 0, "tofu": 0, "duplicate": 0, "thinned": 0}
    kept = np.empty((0, SIZE, SIZE), np.float32)
    chosen: list[list[_Glyph]] = []
    fonts: dict[str, tuple[FreeTypeFont, dict[int, str], NDArray[np.float32] | None]] = {}
    for script in scripts:
        if script.font not in fonts:
            path = _font_path(Path(font_dir), script.font)
            font = ImageFont.truetype(str(path), size=96, layout_engine=ImageFont.Layout.BASIC)
            tofu = _render(font, chr(0x10FFFD))  # a private-use code point no font maps: draws .notdef
            fonts[script.font] = (
                font,
                TTFont(str(path), lazy=True).getBestCmap(),
                None if tofu is None else _downsample(tofu),
            )
        font, cmap, tofu_proto = fonts[script.font]
        have, missing = _candidates(script, cmap)
        skipped["not in font"] += missing
        pool = _evenly(have, 3 * max_per_alphabet)  # big syllabaries: render a spread, not all 1,000+
        skipped["thinned"] += len(have) - len(pool)
        accepted: list[_Glyph] = []
        for cp in pool:
            glyph = _glyph(font, cp)
            if glyph is None:
                skipped["blank"] += 1
            elif tofu_proto is not None and np.abs(glyph.prototype - tofu_proto).mean() < duplicate_tol:
                skipped["tofu"] += 1
            elif kept.size and (np.abs(kept - glyph.prototype).mean(axis=(1, 2)) < duplicate_tol).any():
                skipped["duplicate"] += 1
            else:
                accepted.append(glyph)
                kept = np.concatenate([kept, glyph.prototype[None]])
        final = _evenly(accepted, max_per_alphabet)
        skipped["thinned"] += len(accepted) - len(final)
        if len(final) < len(accepted):  # prototypes of thinned glyphs no longer block later scripts
            kept = np.concatenate([kept[: len(kept) - len(accepted)], np.stack([g.prototype for g in final])])
        chosen.append(final)
    return chosen, skipped


# ---------------------------------------------------------------------------------------------------------------
# Writing and reading the built files


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _write(path: Path, data: bytes) -> None:
    """Write via a temporary file and a rename, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An ``np.load``-able .npz with fixed zip timestamps and permissions, so equal arrays give equal bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_BZIP2  # as small as LZMA here, 15x faster
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    _write(path, buf.getvalue())


def _versions() -> dict[str, str]:
    import PIL
    import scipy
    from fontTools import version as fonttools_version
    from PIL import features

    try:
        noto = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", FONT_PACKAGE], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        noto = "unknown (dpkg-query unavailable or package not installed)"
    return {
        FONT_PACKAGE: noto,
        "Pillow": PIL.__version__,
        "FreeType": str(features.version("freetype2")),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "fonttools": fonttools_version,
        "unicodedata (Unicode)": unicodedata.unidata_version,
    }


def build(
    out_dir: Path = DEFAULT_DIR,
    seed: int = SEED,
    scripts: tuple[Script, ...] = SCRIPTS,
    exemplars: int = EXEMPLARS,
    max_per_alphabet: int = MAX_PER_ALPHABET,
    font_dir: Path = FONT_DIR,
) -> dict[str, Path]:
    """Render the substitute into ``out_dir``: ``omniglot_like.npz``, ``manifest.json`` and ``SHA256SUMS``.

    Alphabets are split into background and evaluation sets (60/40 like Omniglot's 30/20) by a seeded shuffle. The
    same fonts, seed and package versions give byte-identical files.
    """
    seed = _check_seed(seed)
    if isinstance(exemplars, bool) or not isinstance(exemplars, int) or not 1 <= exemplars <= 255:
        raise ValueError(f"exemplars must be an integer in 1..255, got {exemplars!r}")
    chosen, skipped = _select(tuple(scripts), max_per_alphabet, font_dir)
    used = [(s, g) for s, g in zip(scripts, chosen) if g]
    if len(used) < 2:
        raise ValueError("need at least two scripts with characters (one background, one evaluation alphabet)")
    n_alpha = len(used)
    n_background = min(n_alpha - 1, max(1, round(BACKGROUND_FRACTION * n_alpha)))
    background = np.zeros(n_alpha, bool)
    background[np.random.default_rng(seed).permutation(n_alpha)[:n_background]] = True

    code_points = np.array([g.code_point for _, glyphs in used for g in glyphs], np.int32)
    char_alphabet = np.repeat(np.arange(n_alpha), [len(glyphs) for _, glyphs in used]).astype(np.int16)
    images = np.empty((len(code_points) * exemplars, SIZE, SIZE), np.uint8)
    i = 0
    for _, glyphs in used:
        for glyph in glyphs:
            for k in range(exemplars):
                images[i] = _exemplar(glyph, seed, k)
                i += 1
    arrays: dict[str, NDArray[Any]] = {
        "images": images,
        "character": np.repeat(np.arange(len(code_points)), exemplars).astype(np.int16),
        "exemplar": np.tile(np.arange(exemplars), len(code_points)).astype(np.uint8),
        "character_alphabet": char_alphabet,
        "code_point": code_points,
        "alphabet_background": background,
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    array_path = out_dir / ARRAY_FILE
    _write_npz(array_path, arrays)

    fonts = sorted({s.font for s, _ in used})
    manifest = {
        "name": SUBSTITUTE_NAME,
        "what": f"letters rendered from Noto fonts, each drawn {exemplars} ways by seeded distortions; not handwriting",
        "command": "python -m mirage_utils datasets omniglot-like",
        "seed": seed,
        "image_size": SIZE,
        "exemplars_per_character": exemplars,
        "max_characters_per_alphabet": max_per_alphabet,
        "background_fraction": BACKGROUND_FRACTION,
        "ink": "uint8, 255 = ink, 0 = background (like MNIST)",
        "distortions": {
            "affine": "rotation +-12 deg, shear +-0.25, scale x0.89-1.08 per axis, shift +-1.5 px",
            "elastic": "5x5 random displacements (sd 1.5 px) spread by a Gaussian basis",
            "stroke": "pen width normalised to ~2.2 px, then -0.4 to +0.5 px",
            "noise": "ink intensity x0.75-1.0, Poisson(2) speckles of 0.2-0.6",
        },
        "counts": {
            "alphabets": n_alpha,
            "background_alphabets": int(background.sum()),
            "characters": int(len(code_points)),
            "images": int(len(images)),
            "background_characters": int(background[char_alphabet].sum()),
        },
        "skipped_candidates": skipped,
        "scripts_without_characters": [s.name for s, g in zip(scripts, chosen) if not g],
        "packages": _versions(),
        "fonts": {f: sha256_of(Path(font_dir) / f) for f in fonts},
        "alphabets": [
            {
                "id": a,
                "name": s.name,
                "font": s.font,
                "split": "background" if background[a] else "evaluation",
                "characters": [f"U+{g.code_point:04X} {unicodedata.name(chr(g.code_point), '')}" for g in glyphs],
            }
            for a, (s, glyphs) in enumerate(used)
        ],
        "array_file": ARRAY_FILE,
        "array_sha256": sha256_of(array_path),
    }
    manifest_path = out_dir / MANIFEST_FILE
    _write(manifest_path, (json.dumps(manifest, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    sums = out_dir / SUMS_FILE
    _write(sums, "".join(f"{sha256_of(p)}  {p.name}\n" for p in (array_path, manifest_path)).encode())
    return {ARRAY_FILE: array_path, MANIFEST_FILE: manifest_path, SUMS_FILE: sums}


def read(folder: Path, split: str = "background") -> CharacterImages:
    """The built substitute in ``folder`` (its SHA-256 checked against the manifest), one split or ``"all"``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = Path(folder)
    manifest_path, array_path = folder / MANIFEST_FILE, folder / ARRAY_FILE
    if not manifest_path.is_file() or not array_path.is_file():
        raise DataFileError(
            f"no Omniglot-like build in {folder}: run `python -m mirage_utils datasets omniglot-like"
            f" --out {folder}` (needs Debian's {FONT_PACKAGE})"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    actual = sha256_of(array_path)
    if actual != manifest["array_sha256"]:
        raise DataFileError(
            f"{array_path} has SHA-256 {actual}, but its manifest says {manifest['array_sha256']}: "
            "rebuild it with `python -m mirage_utils datasets omniglot-like`"
        )
    with np.load(array_path, allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    char_alphabet = a["character_alphabet"].astype(np.int64)
    alphabet = char_alphabet[a["character"]]
    in_background = a["alphabet_background"][alphabet]
    keep = np.ones(len(alphabet), bool) if split == "all" else in_background == (split == "background")
    names = tuple(c for entry in manifest["alphabets"] for c in entry["characters"])
    return CharacterImages(
        a["images"][keep],
        a["character"][keep].astype(np.int64),
        alphabet[keep],
        a["exemplar"][keep].astype(np.int64),
        names,
        tuple(entry["name"] for entry in manifest["alphabets"]),
        manifest["name"],
        split,
    )


# ---------------------------------------------------------------------------------------------------------------
# Real Omniglot (torchvision layout) and the entry point


_DRAWER = re.compile(r"_(\d+)\.png$")


def load_omniglot(root: Path, split: str = "background") -> CharacterImages:
    """Real Omniglot from torchvision's ``omniglot-py`` folder (``images_background`` / ``images_evaluation``, each
    ``<alphabet>/<character>/<id>_<drawer>.png``), resized to 28x28 by area averaging and inverted so ink is bright.

    Ids are global: background alphabets and characters first (sorted by name), then evaluation ones."""
    from PIL import Image

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root)
    folders = {s: root / f"images_{s}" for s in ("background", "evaluation")}
    wanted = ("background", "evaluation") if split == "all" else (split,)
    missing = [str(folders[s]) for s in wanted if not folders[s].is_dir()]
    if missing:
        raise DataFileError(
            f"Omniglot folder(s) missing: {missing}; expected torchvision's layout "
            f"{root}/images_background/<alphabet>/<character>/*.png (and images_evaluation)"
        )
    xs, chars, alphas, drawers, char_names, alpha_names = [], [], [], [], [], []
    for s in ("background", "evaluation"):
        if not folders[s].is_dir():
            continue
        for alpha_dir in sorted(p for p in folders[s].iterdir() if p.is_dir()):
            alpha_names.append(alpha_dir.name)
            for char_dir in sorted(p for p in alpha_dir.iterdir() if p.is_dir()):
                char_names.append(f"{alpha_dir.name}/{char_dir.name}")
                if s not in wanted:
                    continue
                for j, png in enumerate(sorted(char_dir.glob("*.png"))):
                    img = Image.open(png).convert("L").resize((SIZE, SIZE), Image.Resampling.BOX)
                    xs.append(255 - np.asarray(img, np.uint8))
                    chars.append(len(char_names) - 1)
                    alphas.append(len(alpha_names) - 1)
                    m = _DRAWER.search(png.name)
                    drawers.append(int(m.group(1)) - 1 if m else j)
    if not xs:
        raise DataFileError(f"no PNG images under {[str(folders[s]) for s in wanted]}")
    as_int: Callable[[list[int]], NDArray[np.int64]] = lambda v: np.asarray(v, np.int64)
    return CharacterImages(
        np.stack(xs),
        as_int(chars),
        as_int(alphas),
        as_int(drawers),
        tuple(char_names),
        tuple(alpha_names),
        OMNIGLOT_NAME,
        split,
    )


def omniglot_root() -> Path | None:
    """``$MIRAGE_DATA_DIR/omniglot-py`` if the reader has it (then it is used instead of the substitute)."""
    if not os.environ.get(DATA_DIR_ENV):
        return None
    root = Path(os.environ[DATA_DIR_ENV]).expanduser() / "omniglot-py"
    return root if root.is_dir() else None


def load(split: str = "background", folder: Path | None = None, build_if_missing: bool = True) -> CharacterImages:
    """Real Omniglot when ``$MIRAGE_DATA_DIR/omniglot-py`` exists, else the substitute in ``folder`` (default: the
    committed reference build in ``data/artifacts/omniglot-like``, checked against ``REFERENCE_SHA256``), built there
    first if absent (about 3 minutes; needs Debian's fonts-noto-core). ``.name`` says which of the two it is."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    real = omniglot_root()
    if real is not None:
        return load_omniglot(real, split)
    folder = Path(folder) if folder is not None else DEFAULT_DIR
    if build_if_missing and not (folder / MANIFEST_FILE).is_file():
        build(folder)
    images = read(folder, split)
    if folder == DEFAULT_DIR and manifest(folder)["array_sha256"] != REFERENCE_SHA256:
        raise DataFileError(
            f"{folder / ARRAY_FILE} is not the reference build (SHA-256 {REFERENCE_SHA256}): restore it with "
            f"`git checkout -- {folder.relative_to(REPO_ROOT)}`, or build elsewhere with `--out`"
        )
    return images


def manifest(folder: Path | None = None) -> dict[str, Any]:
    """The manifest of the substitute built in ``folder`` (default: the committed reference build)."""
    path = Path(folder if folder is not None else DEFAULT_DIR) / MANIFEST_FILE
    if not path.is_file():
        raise DataFileError(f"{path} not found: run `python -m mirage_utils datasets omniglot-like`")
    return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))
