"""Add labelled real recordings from the sound packs of music programs and games to a folder.

    python -m scripts.make_sample_sounds --out runs/gm_sounds [--packages NAME ... | all]

Downloads packages of :data:`LICENCES` (by default :data:`BUNDLED`, those the bundled joint
model's head was trained on) with ``apt-get download``, unpacks them and copies the files named
in :data:`LABELS` byte for byte into ``OUT/<class>/`` or ``OUT/other/``, appending to
``OUT/SOURCES.tsv``. The table was written by reading the file names, not by listening. None of
the packages is among the real-sound dev set's sources or the packages held out for acceptance
(docs/real_sounds.md).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import tempfile
from pathlib import Path

from scripts.make_sound_devset import _unpack

LICENCES = {
    "sonic-pi-samples": "MIT (per-file CC0/CC-BY credits in debian/copyright)",
    "lmms-common": "GPL-2+",
    "bucklespring-data": "GPL-2+",
    "lbreakout2-data": "GPL",
    "lincity-ng-data": "GPL-2+",
    "warmux-data": "GPL-2+ (debian/copyright)",
    "deepin-sound-theme": "GPL-3+",
    "yaru-theme-sound": "CC-BY-SA-4.0 (sounds, debian/copyright)",
    "minetest-data": "CC-BY-SA-3.0 (sounds, debian/copyright)",
    "tuxfootball": "GPL-2+",
    "ktuberling-data": "GPL-2+ (debian/copyright)",
}
"""Package -> licence of the files taken from it, as its ``debian/copyright`` states."""

BUNDLED = ("sonic-pi-samples", "lmms-common")
"""The packages of the bundled model's training recordings. The other nine (game and desktop
sounds: keyboard and interface clicks, referee whistles, speech in many languages, explosions,
doors, fire) were tried in runs ft18, ft19 and ft19b and are not bundled (docs/real_sounds.md)."""

LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "sonic-pi-samples": {
        "snap": (r"perc_snap2?",),
        "bell": (r"perc_bell2?", r"drum_cowbell"),
        "drum": (r"drum_tom_\w+", r"drum_bass_(hard|soft)", r"drum_heavy_kick", r"tabla_\w+"),
        "click": (r"elec_tick",),
        "hiss": (r"vinyl_hiss",),
        "buzz": (r"ambi_soft_buzz",),
        "other": (r"guit_\w+", r"loop_(amen|breakbeat|safari|industrial|garzul|mika)",
                  r"misc_(burp|cineboom|crow)", r"perc_door", r"ambi_(piano|choir)",
                  r"mehackit_robot\d"),
    },
    "lmms-common": {
        "clap": (r"clap0\d", r"applause01"),
        "snap": (r"snaph01",),
        "bell": (r"bell_choir0\d", r"wind_chimes01", r"(metalish_)?dong0\d"),
        "drum": (r"tom(0\d|_hi01|_low01|_mid01)", r"bassdrum_acoustic0\d", r"kick0\d",
                 r"snare_acoustic01"),
        "click": (r"metronome0\d", r"wood01", r"sidestick01", r"rim01"),
        "hiss": (r"breath01",),
        "buzz": (r"buzz!",),
        "other": (r"piano0\d", r"strings01", r"trumpet01", r"violin_\w+", r"flute01",
                  r"latin_guitar0\d", r"church_organ0\d", r"raving_crowd01", r"explode01",
                  r"vowel_[au]", r"cello01", r"harpsichord01", r"steel_guitar01"),
    },
    # key presses of a recorded IBM Model M, keys 1-39 (their releases left out)
    "bucklespring-data": {"click": (r"[0-3]\d-0",)},
    "lbreakout2-data": {"click": (r"click", r"menu_click")},
    "lincity-ng-data": {
        "click": (r"Click",),
        "other": (r"(Fire|Water|RailTrain|Rocket|TraficHigh|IndustryHigh)\d",),
    },
    "warmux-data": {
        "click": (r"clic",),
        "other": (r"explosion\d", r"shotgun", r"m16", r"gun", r"jetpack", r"flame", r"blowtorch",
                  r"injured_high\d"),
    },
    "deepin-sound-theme": {"click": (r"camera-shutter",)},
    "yaru-theme-sound": {"bell": (r"bell",)},
    # footsteps and digging left out: too close to clicks and drums
    "minetest-data": {"other": (r"doors_\w+", r"fire_\w+(\.\d)?", r"env_sounds_water\.\d",
                                r"tnt_explode", r"carts_cart_moving\.\d")},
    "tuxfootball": {"whistle": (r"refwhistle\w+",),
                    "other": (r"crowd(cheer|ooh|boo)", r"titlemusic")},
    # spoken words in many languages
    "ktuberling-data": {"other": (r"hat", r"nose", r"ball")},
}
"""Package -> folder -> file-stem patterns (whole stem, case-insensitive)."""

AUDIO = (".wav", ".ogg", ".oga", ".flac")


def label(package: str, stem: str) -> str | None:
    """The folder of a package's file stem, or ``None`` when no pattern matches it whole."""
    for folder, patterns in LABELS.get(package, {}).items():
        if any(re.fullmatch(p, stem, flags=re.IGNORECASE) for p in patterns):
            return folder
    return None


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--packages", nargs="+", choices=[*LICENCES, "all"], default=list(BUNDLED),
                   metavar="NAME",
                   help="packages to take files from ('all': every one of LICENCES)")
    args = p.parse_args(argv)
    packages = list(LICENCES) if "all" in args.packages else args.packages
    rows, seen, written = [], set(), set()
    with tempfile.TemporaryDirectory() as tmp:
        for package in packages:
            root = _unpack(package, Path(tmp))
            for path in sorted(root.rglob("*")):
                folder = label(package, path.stem) if path.suffix.lower() in AUDIO else None
                if folder is None:
                    continue
                digest = hashlib.sha1(path.read_bytes()).hexdigest()
                if digest in seen:  # lmms and lbreakout2 ship some files twice
                    continue
                seen.add(digest)
                safe = re.sub(r"[^A-Za-z0-9_.-]", "_", path.name)
                name = f"{package}__{safe}"
                if name in written:  # one word in several languages
                    name = f"{package}__{path.parent.name}_{safe}"
                written.add(name)
                (args.out / folder).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, args.out / folder / name)
                rows.append(f"{folder}/{name}\t{package}\t{path.relative_to(root)}\t"
                            f"{LICENCES[package]}")
    with open(args.out / "SOURCES.tsv", "a", encoding="utf-8") as f:
        f.write("".join(row + "\n" for row in rows))
    print(f"{len(rows)} files added to {args.out}")


if __name__ == "__main__":
    main()
