"""Build real-format mini data sets from recordings and pictures that Debian ships.

    python -m scripts.make_mini_datasets --out runs/mini
    python -m scripts.make_mini_datasets --download-only   # what scripts/install.sh --dev runs

Downloads four small Debian packages with ``apt-get download`` (about 4 MB in all) into a cache
(``$BGTAI_DEB_CACHE``, default ``~/.cache/bgtai/debs``; packages already there are not fetched
again), unpacks them with ``dpkg -x`` and writes, under ``OUT/``, a few dozen clips of each data
set in the exact on-disk layout its adapter (:mod:`bgtai.data.adapters`) reads::

    ESC-50-master/      meta/esc50.csv, audio/{fold}-{src}-{take}-{target}.wav (5 s, 44.1 kHz)
    UrbanSound8K/       metadata/UrbanSound8K.csv, audio/fold1..fold10/ (source rate/channels)
    VGGSound/           vggsound.csv (no header), audio/{ytid}_{start:06d}.wav, frames/.../*.jpg
    AudioCaps/          train.csv val.csv test.csv, audio/{split}/{ytid}_{start}.wav
    Clotho/             clotho_captions_{split}.csv, clotho_audio_{split}/ (15 s, names with
                        spaces and commas)
    how2/text/          sum_{train,cv,devtest}/tran.tok.txt desc.tok.txt (WordNet sentences)
    aslg_pc12.tsv       text<TAB>gloss

The recordings are real (instrument notes, chimes, clicks, a canary), but the **labels and
captions are stand-ins**: each source family (e.g. sound-icons' instrument notes) is given one
official class name of each set and a template caption, so the sets test formats, splits, folds
and the code paths end to end, not what a model hears. Clips are the source looped to the set's
length. VGGSound frames are crops of real pictures (NASA Earth day/night maps shipped by
xplanet-images, and matplotlib's photograph of Grace Hopper). ``OUT/SOURCES.tsv`` lists every
clip's source file, package and licence; ``OUT/licences/`` holds each package's copyright file.
The output depends only on the packages' contents (no randomness).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import soundfile as sf
from PIL import Image
from scipy.signal import resample_poly

from bgtai.audio import SAMPLE_RATE
from bgtai.gloss.rules import english_to_gloss

FORBIDDEN = ("scratch", "tuxpaint-stamps-default", "tuxpaint-data", "sound-theme-freedesktop",
             "asterisk-core-sounds-en")
"""Packages held out for acceptance testing by others: never downloaded here."""

LICENCES = {
    "sound-icons": "GPL-2+",
    "gnome-audio": "CC-BY-SA-2.0 / CC-BY-3.0 (debian/copyright)",
    "oxygen-sounds": "LGPL-3.0-or-later",
    "xplanet-images": "GPL-2+ (Earth maps after NASA imagery)",
}
PACKAGES = tuple(LICENCES)

# Source families: (package, glob under usr/share) -> one stand-in class per data set.
FAMILIES = {
    "instrument": ("sound-icons", "sounds/sound-icons/*.wav",
                   r"cembalo|chord|piano|klavichord|guitar|trumpet|violoncello|xylofon"),
    "effect": ("sound-icons", "sounds/sound-icons/*.wav",
               r"canary|cockchafer|cymbaly|glass|gummy|percussion|pipe|pisk|prompt"),
    "chime": ("oxygen-sounds", "sounds/Oxygen-Sys-*.ogg", ""),
    "alert": ("oxygen-sounds", "sounds/Oxygen-Im-*.ogg", ""),
    "window": ("oxygen-sounds", "sounds/Oxygen-Window-*.ogg", ""),
    "desktop": ("gnome-audio", "sounds/**/*.wav", ""),
}
CLASS_NAMES = {  # stand-in official class names, per data set
    "esc50": {"instrument": (38, "church_bells"), "effect": (14, "chirping_birds"),
              "chime": (37, "clock_alarm"), "alert": (30, "door_wood_knock"),
              "window": (31, "mouse_click")},
    "urbansound8k": {"instrument": (9, "street_music"), "effect": (3, "dog_bark"),
                     "chime": (8, "siren"), "alert": (1, "car_horn")},
    "vggsound": {"instrument": "playing harpsichord", "effect": "bird chirping, tweeting",
                 "chime": "church bell ringing", "alert": "alarm clock ringing"},
}
CAPTIONS = {
    "instrument": ("A musical instrument plays a short note",
                   "Someone plays a note on an instrument",
                   "A single note rings out and fades", "An instrument is played briefly",
                   "A short melodic tone sounds"),
    "effect": ("A short sharp sound repeats", "Something squeaks and chirps",
               "A small creature chirps in short bursts", "A quick percussive sound repeats",
               "High pitched chirps repeat"),
    "chime": ("An electronic chime rings", "A soft bell like tone plays",
              "A synthesised chime sounds several times", "A bell rings gently",
              "Electronic tones ring and fade"),
    "alert": ("A short alert tone beeps", "A device beeps with a notification",
              "A notification sound plays", "An electronic beep sounds",
              "A short electronic alert repeats"),
}
WORDNET = "/usr/share/wordnet"


def deb_cache() -> Path:
    return Path(os.environ.get("BGTAI_DEB_CACHE") or Path.home() / ".cache" / "bgtai" / "debs")


def download(packages: tuple[str, ...], debs: Path) -> dict[str, Path]:
    """The ``.deb`` of each package in ``debs``, fetched with ``apt-get download`` if absent."""
    for p in packages:
        if any(p.startswith(f) for f in FORBIDDEN):
            raise SystemExit(f"{p} is held out for acceptance testing; never used here")
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in packages if not any(debs.glob(f"{p}_*.deb"))]
    if missing:
        done = subprocess.run(["apt-get", "download", *missing], cwd=debs, capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise SystemExit(f"apt-get download {' '.join(missing)} failed (are the package "
                             f"lists there? sudo apt-get update): {done.stderr.strip()[-500:]}")
    found = {p: next(debs.glob(f"{p}_*.deb"), None) for p in packages}
    lacking = [p for p, deb in found.items() if deb is None]
    if lacking:
        raise SystemExit(f"apt-get download left no .deb of {', '.join(lacking)} in {debs}")
    return found


def fetch(packages: tuple[str, ...], into: Path) -> Path:
    """Unpack the packages (from the cache, downloaded if needed) under ``into/<pkg>/``."""
    for p, deb in download(packages, deb_cache()).items():
        subprocess.run(["dpkg", "-x", str(deb), str(into / p)], check=True)
    return into


def family_sources(unpacked: Path) -> dict[str, list[tuple[Path, str]]]:
    """Readable source files of each family, sorted by name, with their package."""
    out = {}
    for family, (package, pattern, name_rule) in FAMILIES.items():
        files = sorted((unpacked / package / "usr" / "share").glob(pattern))
        keep = []
        for f in files:
            if name_rule and not re.search(name_rule, f.name):
                continue
            try:
                if sf.info(f).duration >= 0.05:
                    keep.append((f, package))
            except (RuntimeError, sf.LibsndfileError):
                continue  # empty placeholders (gnome-audio's login.wav)
        out[family] = keep
    return out


def looped(path: Path, seconds: float, sr: int, channels: int | None = 1) -> np.ndarray:
    """The source at ``sr`` Hz, repeated with 0.25 s gaps to exactly ``seconds``.

    ``channels=None`` keeps the source's channels (UrbanSound8K keeps its files' format)."""
    wave, src_sr = sf.read(path, dtype="float32", always_2d=True)
    if channels == 1:
        wave = wave.mean(axis=1, keepdims=True)
    if src_sr != sr:
        g = np.gcd(src_sr, sr)
        wave = resample_poly(wave, sr // g, src_sr // g, axis=0).astype(np.float32)
    gap = np.zeros((int(0.25 * sr), wave.shape[1]), np.float32)
    unit = np.concatenate([wave, gap])
    n = int(round(seconds * sr))
    out = np.tile(unit, (n // len(unit) + 1, 1))[:n]
    return out[:, 0] if channels == 1 else out


class Builder:
    """Writes the sets, drawing each family's sources in turn and logging every clip."""

    def __init__(self, out: Path, sources: dict[str, list[tuple[Path, str]]], unpacked: Path):
        self.out, self.sources, self.unpacked = out, sources, unpacked
        self.turn = {f: 0 for f in sources}
        self.log: list[tuple[str, str, str, str]] = []

    def take(self, family: str) -> tuple[Path, str]:
        files = self.sources[family]
        if not files:
            raise SystemExit(f"no readable source for family {family}")
        path, package = files[self.turn[family] % len(files)]
        self.turn[family] += 1
        return path, package

    def write(self, dest: Path, family: str, seconds: float, sr: int = SAMPLE_RATE,
              channels: int | None = 1) -> None:
        src, package = self.take(family)
        dest.parent.mkdir(parents=True, exist_ok=True)
        sf.write(dest, looped(src, seconds, sr, channels), sr, subtype="PCM_16")
        rel = src.relative_to(self.unpacked / package)
        self.log.append((str(dest.relative_to(self.out)), package, "/" + str(rel),
                         LICENCES[package]))

    def esc50(self) -> None:
        root = self.out / "ESC-50-master"
        rows = []
        for f, (family, (target, name)) in enumerate(CLASS_NAMES["esc50"].items()):
            for fold in range(1, 6):  # one source recording per fold, two takes of it
                src_file = f"{100000 + 10 * f + fold}"
                for take in "AB":
                    name_ = f"{fold}-{src_file}-{take}-{target}.wav"
                    self.write(root / "audio" / name_, family, 5.0, 44100)
                    rows.append([name_, fold, target, name, str(family == "instrument"),
                                 src_file, take])
        _csv(root / "meta" / "esc50.csv",
             ["filename", "fold", "target", "category", "esc10", "src_file", "take"], rows)

    def urbansound8k(self) -> None:
        root = self.out / "UrbanSound8K"
        rows = []
        for family, (class_id, name) in CLASS_NAMES["urbansound8k"].items():
            for fold in range(1, 11):
                fs_id = 200000 + 100 * class_id + fold
                slice_name = f"{fs_id}-{class_id}-0-0.wav"
                # sources keep their own rate and channels, as UrbanSound8K's files do
                src, _ = self.sources[family][self.turn[family] % len(self.sources[family])]
                sr = sf.info(src).samplerate
                self.write(root / "audio" / f"fold{fold}" / slice_name, family, 3.0, sr, None)
                rows.append([slice_name, fs_id, 0.0, 3.0, 1 + fold % 2, fold, class_id, name])
        _csv(root / "metadata" / "UrbanSound8K.csv",
             ["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"],
             rows)

    def vggsound(self, pictures: list[Image.Image]) -> None:
        root = self.out / "VGGSound"
        rows, k = [], 0
        for family, label in CLASS_NAMES["vggsound"].items():
            for i in range(8):
                split = "test" if i >= 6 else "train"
                ytid, start = f"mini{family[:3]}{i:03d}"[:11].ljust(11, "_"), 10 * (i + 1)
                stem = f"{ytid}_{start:06d}"
                self.write(root / "audio" / f"{stem}.wav", family, 10.0)
                picture = pictures[k % len(pictures)]
                for j in range(3):  # frames: a crop drifting across the picture
                    frame = _crop(picture, k, j)
                    (root / "frames" / stem).mkdir(parents=True, exist_ok=True)
                    frame.save(root / "frames" / stem / f"{j + 1:06d}.jpg", quality=90)
                rows.append([ytid, start, label, split])
                k += 1
        _csv(root / "vggsound.csv", None, rows)

    def audiocaps(self) -> None:
        root = self.out / "AudioCaps"
        cap_id = 1000
        for split, per_family in (("train", 4), ("val", 2), ("test", 2)):
            rows = []
            for family in CAPTIONS:
                for i in range(per_family):
                    ytid, start = f"ac{split[:2]}{family[:3]}{i:02d}".ljust(11, "x"), 30 + i
                    self.write(root / "audio" / split / f"{ytid}_{start}.wav", family, 10.0)
                    captions = CAPTIONS[family][i:i + 1] if split == "train" else CAPTIONS[family]
                    for caption in captions:
                        rows.append([cap_id, ytid, start, caption])
                        cap_id += 1
            _csv(root / f"{split}.csv", ["audiocap_id", "youtube_id", "start_time", "caption"],
                 rows)

    def clotho(self) -> None:
        root = self.out / "Clotho"
        for split, per_family in (("development", 3), ("validation", 1), ("evaluation", 2)):
            rows = []
            for family in CAPTIONS:
                for i in range(per_family):
                    name = f"{family} take {i + 1}, {split}.wav"  # spaces and a comma, as Clotho's
                    self.write(root / f"clotho_audio_{split}" / name, family, 15.0, 44100)
                    rows.append([name, *CAPTIONS[family]])
            _csv(root / f"clotho_captions_{split}.csv",
                 ["file_name", *(f"caption_{i}" for i in range(1, 6))], rows)

    def text_sets(self, sentences: list[str]) -> None:
        """How2 (transcript -> its first sentence as summary) and ASLG-PC12 (rule glosses) from
        WordNet's example sentences."""
        splits = {"train": sentences[:-18], "cv": sentences[-18:-9], "devtest": sentences[-9:]}
        for split, lines in splits.items():
            folder = self.out / "how2" / "text" / f"sum_{split}"
            folder.mkdir(parents=True, exist_ok=True)
            tran, desc = [], []
            for i in range(0, len(lines) - 2, 3):
                vid = f"how2{split}{i:04d}"
                tran.append(f"{vid} {' '.join(lines[i:i + 3]).lower()}")
                desc.append(f"{vid} {lines[i].lower()}")
            (folder / "tran.tok.txt").write_text("\n".join(tran) + "\n", encoding="utf-8")
            (folder / "desc.tok.txt").write_text("\n".join(reversed(desc)) + "\n", encoding="utf-8")
        pairs = [f"{s}\t{g}" for s in sentences if (g := english_to_gloss(s).strip())]
        (self.out / "aslg_pc12.tsv").write_text("\n".join(pairs) + "\n", encoding="utf-8")


def _crop(picture: Image.Image, clip: int, frame: int, side: int = 160) -> Image.Image:
    w, h = picture.size
    box = min(w, h) // 2
    x = (clip * 97 + frame * box // 8) % max(1, w - box)
    y = (clip * 53) % max(1, h - box)
    return picture.crop((x, y, x + box, y + box)).resize((side, side), Image.BICUBIC)


def _csv(path: Path, header: list[str] | None, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if header:
            w.writerow(header)
        w.writerows(rows)


def _sentences(n: int = 90) -> list[str]:
    """English example sentences from WordNet's verb glosses (the ``wordnet-base`` package the
    install script already brings for the gloss rules), the first ``n`` of 6-20 words."""
    data = Path(WORDNET) / "data.verb"
    if not data.is_file():
        raise SystemExit(f"{data} not found: install the Debian package wordnet-base")
    found = re.findall(r'"([A-Z][^"]+?[a-z])"', data.read_text(encoding="utf-8", errors="replace"))
    return [s for s in dict.fromkeys(found) if 6 <= len(s.split()) <= 20][:n]


def build(out: Path, workdir: Path | None = None) -> Path:
    """Download the packages and write every mini set under ``out``; returns ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        unpacked = fetch(PACKAGES, Path(tmp))
        b = Builder(out, family_sources(unpacked), unpacked)
        maps = unpacked / "xplanet-images/usr/share/xplanet/images"
        pictures = [Image.open(maps / n).convert("RGB") for n in ("earth.jpg", "night.jpg")]
        hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        pictures.append(Image.open(hopper).convert("RGB"))
        b.esc50()
        b.urbansound8k()
        b.vggsound(pictures)
        b.audiocaps()
        b.clotho()
        b.text_sets(_sentences())
        licences = out / "licences"
        licences.mkdir(exist_ok=True)
        for p in PACKAGES:
            shutil.copy(unpacked / p / "usr/share/doc" / p / "copyright", licences / f"{p}.txt")
    b.log.append(("how2/*, aslg_pc12.tsv", "wordnet-base", WORDNET + "/data.verb",
                  "WordNet 3.0 licence (Princeton)"))
    b.log.append(("VGGSound/frames/*", "matplotlib (pip)",
                  "mpl-data/sample_data/grace_hopper.jpg", "public domain (US Navy photograph)"))
    with (out / "SOURCES.tsv").open("w", encoding="utf-8") as f:
        f.write("file\tpackage\tsource\tlicence\n")
        f.writelines("\t".join(row) + "\n" for row in b.log)
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path)
    p.add_argument("--download-only", action="store_true",
                   help="only fill the package cache (scripts/install.sh --dev)")
    args = p.parse_args(argv)
    if args.download_only:
        download(PACKAGES, deb_cache())
        return
    if args.out is None:
        p.error("--out is required")
    build(args.out)
    print(f"mini data sets written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
