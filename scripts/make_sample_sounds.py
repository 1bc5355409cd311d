"""Add labelled real recordings from the sample packs of two music programs to a training folder.

    python -m scripts.make_sample_sounds --out runs/gm_sounds

Downloads ``sonic-pi-samples`` (MIT, with per-file CC0 / CC-BY credits in its copyright file)
and ``lmms-common`` (GPL-2+) with ``apt-get download``, unpacks them and copies the files named
in :data:`LABELS` byte for byte into ``OUT/<class>/`` or ``OUT/other/``, appending to
``OUT/SOURCES.tsv``. The table was written by reading the file names, not by listening. Neither
package is among the real-sound dev set's sources (docs/real_sounds.md).
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from pathlib import Path

from scripts.make_sound_devset import _unpack

LICENCES = {"sonic-pi-samples": "MIT (per-file CC0/CC-BY credits in debian/copyright)",
            "lmms-common": "GPL-2+"}

LABELS: dict[str, tuple[str, ...]] = {
    "clap": (r"clap0\d", r"applause01"),
    "snap": (r"perc_snap2?", r"snaph01"),
    "bell": (r"perc_bell2?", r"drum_cowbell", r"bell_choir0\d", r"wind_chimes01",
             r"(metalish_)?dong0\d"),
    "drum": (r"drum_tom_\w+", r"drum_bass_(hard|soft)", r"drum_heavy_kick", r"tabla_\w+",
             r"tom(0\d|_hi01|_low01|_mid01)", r"bassdrum_acoustic0\d", r"kick0\d",
             r"snare_acoustic01"),
    "click": (r"metronome0\d", r"wood01", r"sidestick01", r"rim01", r"elec_tick"),
    "hiss": (r"vinyl_hiss", r"breath01"),
    "buzz": (r"ambi_soft_buzz", r"buzz!"),
    "other": (r"guit_\w+", r"loop_(amen|breakbeat|safari|industrial|garzul|mika)",
              r"misc_(burp|cineboom|crow)", r"perc_door", r"ambi_(piano|choir)",
              r"mehackit_robot\d", r"piano0\d", r"strings01", r"trumpet01", r"violin_\w+",
              r"flute01", r"latin_guitar0\d", r"church_organ0\d", r"raving_crowd01",
              r"explode01", r"vowel_[au]", r"cello01", r"harpsichord01", r"steel_guitar01"),
}
"""Folder -> file-stem patterns (whole stem, case-insensitive)."""

AUDIO = (".wav", ".ogg", ".flac")


def label(stem: str) -> str | None:
    """The folder of a file stem, or ``None`` when no pattern matches it whole."""
    for folder, patterns in LABELS.items():
        if any(re.fullmatch(p, stem, flags=re.IGNORECASE) for p in patterns):
            return folder
    return None


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    rows, seen = [], set()
    with tempfile.TemporaryDirectory() as tmp:
        for package, licence in LICENCES.items():
            root = _unpack(package, Path(tmp))
            for path in sorted(root.rglob("*")):
                folder = label(path.stem) if path.suffix.lower() in AUDIO else None
                if folder is None or path.name in seen:  # lmms ships some files twice
                    continue
                seen.add(path.name)
                name = f"{package}__{re.sub(r'[^A-Za-z0-9_.-]', '_', path.name)}"
                (args.out / folder).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, args.out / folder / name)
                rows.append(f"{folder}/{name}\t{package}\t{path.relative_to(root)}\t{licence}")
    with open(args.out / "SOURCES.tsv", "a", encoding="utf-8") as f:
        f.write("".join(row + "\n" for row in rows))
    print(f"{len(rows)} files added to {args.out}")


if __name__ == "__main__":
    main()
