"""The Omniglot-like substitute (mirage_utils.vision.omniglot_like) on a reduced build (3 alphabets x 5 characters),
and the real-Omniglot path on a tiny fake torchvision-layout folder."""

import functools
import json
from pathlib import Path

import numpy as np
import pytest

from mirage_utils.__main__ import main as cli
from mirage_utils.data import DataFileError, sha256_of
from mirage_utils.vision import omniglot_like as ol

needs_fonts = pytest.mark.skipif(
    not (ol.FONT_DIR / "NotoSans-Regular.ttf").is_file(), reason="Debian's fonts-noto-core is not installed"
)
SMALL = dict(scripts=ol.SCRIPTS[:3], max_per_alphabet=5)  # Latin, Greek, Cyrillic


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("omniglot_like")
    ol.build(folder, **SMALL)
    return folder


@needs_fonts
def test_building_twice_gives_identical_bytes(small, tmp_path):
    again = ol.build(tmp_path / "again", **SMALL)
    for name, path in again.items():
        assert path.read_bytes() == (small / name).read_bytes(), name
    other_seed = ol.build(tmp_path / "seed1", seed=1, **SMALL)
    assert sha256_of(other_seed[ol.ARRAY_FILE]) != sha256_of(small / ol.ARRAY_FILE)
    # An exemplar depends only on (seed, code point, index): the same Latin images without the other alphabets.
    ol.build(tmp_path / "latin_greek", scripts=ol.SCRIPTS[:2], max_per_alphabet=5)
    latin = ol.read(tmp_path / "latin_greek", "all")
    full = ol.read(small, "all")
    np.testing.assert_array_equal(latin.images[latin.alphabet == 0], full.images[full.alphabet == 0])


@needs_fonts
def test_shapes_ids_and_manifest(small):
    data = ol.read(small, "all")
    assert data.images.shape == (3 * 5 * 20, 28, 28) and data.images.dtype == np.uint8
    assert data.x.shape == (300, 1, 28, 28) and data.x.dtype == np.float32 and 0 <= data.x.min() and data.x.max() <= 1
    assert data.n_characters == 15 and len(data.character_names) == 15
    assert data.alphabet_names == ("Latin", "Greek", "Cyrillic") and "substitute for Omniglot" in data.name
    for c in range(15):
        assert sorted(data.exemplar[data.character == c]) == list(range(20))
        assert len(set(data.alphabet[data.character == c])) == 1
    manifest = json.loads((small / ol.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["array_sha256"] == sha256_of(small / ol.ARRAY_FILE)
    assert manifest["fonts"] == {"NotoSans-Regular.ttf": sha256_of(ol.FONT_DIR / "NotoSans-Regular.ttf")}
    assert {"fonts-noto-core", "Pillow", "FreeType", "numpy", "scipy"} <= set(manifest["packages"])
    latin = manifest["alphabets"][0]["characters"]
    assert len(latin) == 5 and all(0x41 <= int(c.split()[0][2:], 16) <= 0x5A for c in latin)
    sums = (small / ol.SUMS_FILE).read_text().split()
    assert sums[0] == manifest["array_sha256"] and sums[1] == ol.ARRAY_FILE


@needs_fonts
def test_split_is_disjoint_by_alphabet(small):
    bg, ev, everything = (ol.read(small, s) for s in ("background", "evaluation", "all"))
    assert set(np.unique(bg.alphabet)).isdisjoint(np.unique(ev.alphabet))
    assert set(np.unique(bg.character)).isdisjoint(np.unique(ev.character))
    assert len(np.unique(bg.alphabet)) == 2 and len(np.unique(ev.alphabet)) == 1  # 60/40 like Omniglot's 30/20
    assert len(bg.images) + len(ev.images) == len(everything.images)


@needs_fonts
def test_exemplars_of_a_character_differ_and_characters_differ(small):
    data = ol.read(small, "all")
    for c in range(data.n_characters):
        imgs = data.images[data.character == c].reshape(20, -1).astype(np.int16)
        diffs = np.abs(imgs[:, None] - imgs[None]).mean(axis=2)
        assert (diffs[~np.eye(20, dtype=bool)] > 1.0).all()  # every pair of exemplars differs visibly
        assert (imgs > 127).sum(axis=1).min() > 20  # and each still has ink
    means = np.stack([data.images[data.character == c].mean(axis=0) for c in range(15)]).reshape(15, -1)
    between = np.abs(means[:, None] - means[None]).mean(axis=2)
    assert between[~np.eye(15, dtype=bool)].min() > 3.0


@needs_fonts
def test_corrupted_build_and_bad_arguments_raise(small, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in (ol.ARRAY_FILE, ol.MANIFEST_FILE):
        (broken / name).write_bytes((small / name).read_bytes())
    with open(broken / ol.ARRAY_FILE, "ab") as fh:
        fh.write(b"x")
    with pytest.raises(DataFileError, match="SHA-256"):
        ol.read(broken)
    with pytest.raises(DataFileError, match="omniglot-like"):
        ol.read(tmp_path / "nothing")
    with pytest.raises(ValueError, match="split"):
        ol.read(small, "train")
    with pytest.raises(ValueError, match="seed"):
        ol.build(tmp_path / "x", seed=-1, **SMALL)
    with pytest.raises(ValueError, match="exemplars"):
        ol.build(tmp_path / "x", exemplars=0, **SMALL)
    with pytest.raises(ValueError, match="max_per_alphabet"):
        ol.build(tmp_path / "x", scripts=ol.SCRIPTS[:3], max_per_alphabet=0)
    with pytest.raises(ValueError, match="two scripts"):
        ol.build(tmp_path / "x", scripts=ol.SCRIPTS[:1], max_per_alphabet=5)
    with pytest.raises(DataFileError, match="fonts-noto-core"):
        ol.build(tmp_path / "x", font_dir=tmp_path, **SMALL)


@needs_fonts
def test_cli_builds_into_out(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(ol, "build", functools.partial(ol.build, **SMALL))
    assert cli(["datasets", "omniglot-like", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 alphabets, 15 characters, 300 images" in out and sha256_of(tmp_path / ol.ARRAY_FILE) in out


def _fake_omniglot(root):
    from PIL import Image

    layout = {"images_background": {"Alpha": 2, "Beta": 1}, "images_evaluation": {"Gamma": 2}}
    for folder, alphabets in layout.items():
        for alphabet, n_chars in alphabets.items():
            for c in range(1, n_chars + 1):
                char_dir = root / "omniglot-py" / folder / alphabet / f"character{c:02d}"
                char_dir.mkdir(parents=True)
                for drawer in (1, 2, 3):
                    img = np.full((105, 105), 255, np.uint8)  # Omniglot: black strokes on white
                    img[20:85, 50 + drawer : 55 + drawer] = 0
                    Image.fromarray(img).convert("1").save(char_dir / f"{c:04d}_{drawer:02d}.png")


def test_real_omniglot_is_used_when_present(monkeypatch, tmp_path):
    _fake_omniglot(tmp_path)
    monkeypatch.setenv("MIRAGE_DATA_DIR", str(tmp_path))
    bg, ev = ol.load("background"), ol.load("evaluation")
    assert bg.name == ev.name == "Omniglot" and bg.split == "background"
    assert bg.images.shape == (3 * 3, 28, 28) and ev.images.shape == (2 * 3, 28, 28)
    assert bg.alphabet_names == ("Alpha", "Beta", "Gamma") and bg.character_names[3] == "Gamma/character01"
    assert set(bg.character) == {0, 1, 2} and set(ev.character) == {3, 4} and set(ev.alphabet) == {2}
    assert sorted(bg.exemplar[bg.character == 0]) == [0, 1, 2]  # drawer number from the file name
    assert bg.images.max() == 255 and bg.images[:, 0, 0].max() == 0  # inverted: ink bright, background dark
    assert len(ol.load("all").images) == 15


def test_real_omniglot_missing_split_raises(monkeypatch, tmp_path):
    _fake_omniglot(tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "omniglot-py" / "images_evaluation")
    monkeypatch.setenv("MIRAGE_DATA_DIR", str(tmp_path))
    assert ol.load("background").n_characters == 3
    with pytest.raises(DataFileError, match="images_evaluation"):
        ol.load("evaluation")
    with pytest.raises(ValueError, match="split"):
        ol.load("test")


def test_the_committed_reference_build_loads_without_fonts(monkeypatch):
    """A reader needs no fonts: the reference build ships in data/artifacts and is checked against its hash."""
    monkeypatch.delenv("MIRAGE_DATA_DIR", raising=False)
    monkeypatch.setattr(ol, "FONT_DIR", Path("/nonexistent"))
    background = ol.load("background", build_if_missing=False)
    assert ol.manifest()["array_sha256"] == ol.REFERENCE_SHA256
    assert background.name == ol.SUBSTITUTE_NAME and background.x.shape[-2:] == (28, 28)
