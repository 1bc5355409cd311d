"""Build the real-sound dev set: real recordings of the world's classes and sounds outside it.

    python -m scripts.make_sound_devset --out runs/real_sounds

Downloads Debian game, education and drum-kit data packages with ``apt-get download``, unpacks
them with ``dpkg -x`` into a temporary folder, and copies the recordings whose *file names*
(with their folder for context) match a reviewed keyword rule into ``OUT/<class>/`` and
``OUT/other/``. The files are copied byte for byte (any format, rate and channel count, as a user
would bring them); members of zip archives (0 A.D.'s ``public.zip``, Warzone's ``.wz``,
OpenArena's ``.pk3``) are read straight out of the archive. ``OUT/SOURCES.tsv`` lists every file
with its package, original path and licence; ``OUT/licences/`` holds each package's
``debian/copyright``. Nothing here is trained on: the set is for choosing models and thresholds
(docs/real_sounds.md).

The labels come from file names and folders, reviewed by reading them, **not by listening**;
:data:`EXCLUDE` removes the names that match a rule but are not a real recording of the class
(drum-machine emulations, music tracks named after a class, electrical hums).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

from bgtai.data.events import CLASSES

HELD_OUT = ("scratch", "tuxpaint-stamps-default", "tuxpaint-data", "sound-theme-freedesktop",
            "asterisk-core-sounds-en")
"""Packages kept for acceptance testing by others: never opened here (checked at start)."""

LICENCES = {
    "hydrogen-drumkits": "per kit (debian/copyright): GMRockKit, The Black Pearl, Gimme A Hand, "
                         "Millo: GPL-2(+); circAfrique: CC-BY-SA-3.0; Colombo: GPL-2+",
    "hydrogen-drumkits-effects": "CC-BY-3.0 (belofilms GuitarStrums)",
    "widelands-data": "GPL-2+",
    "megaglest-data": "CC-BY-SA-3.0",
    "0ad-data": "CC-BY-SA-3.0",
    "hedgewars-data": "GFDL-1.3 (Data/Sounds), GPL-2 (voices)",
    "wesnoth-1.16-data": "GPL-2+",
    "supertuxkart-data": "per file CC-BY-SA-3.0/4.0, CC-BY-3.0 or CC0 (debian/copyright)",
    "tuxmath-data": "GPL-3+",
    "tuxtype-data": "GPL-2+",
    "frozen-bubble-data": "GPL-2",
    "pysiogame": "GPL-3+ (sounds CC-BY-3.0 / public domain, debian/copyright)",
    "warzone2100-data": "GPL-2+",
    "freeciv-data": "GPL-2+",
    "openarena-data": "GPL-2+",
    "xmoto-data": "GPL-2+",
    "fillets-ng-data": "GPL-2+",
}
"""Package -> licence of its sounds, as its ``debian/copyright`` states (copied beside the set)."""

PACKAGES = tuple(LICENCES)

AUDIO = (".wav", ".ogg", ".flac", ".mp3")
ARCHIVES = (".zip", ".pk3", ".wz")

# Rules on the lower-cased "path" (inside an archive: "archive!member"); first match wins.
# Reviewed by reading every match in the packages below.
CLASS_RULES: dict[str, str] = {
    "snap": r"fingersnap",
    "clap": r"handclap|/clap_0\d|/clap_dry|/applause\.",
    "bell": r"cowbell|bell (hit|mute)|dununba1 bell\.|sounds/bell\.wav|towerclock",
    "drum": r"/(djembe\d (bass|slap|tone)|(dununba|kenkeni|sangban)1 head (hit|mute)"
            r"|bongo(hi|lo)-|cajon(slaps|thumps)-|[^/]*tom[^/]*|[^/]*kick[^/]*)\.(wav|flac)$"
            r"|wardrums",
    "chirp": r"/birds?\d|exotic-birds|crickets\d",
    "click": r"click|radclik|/tock\.wav|pingus/data/sounds/tick\.wav",
    "buzz": r"beehive/sounds/bee\d|data/sounds/bee\.ogg|/buzz\.wav",
    "hiss": r"/hiss(-big|-hit|-die)?\.wav",
    "whistle": r"whistle",
}
OTHER_RULES = (
    r"fauna/animal/|animals/(wolf|coyote|frog|moose|boar|stag)|/(cow|sheep)\.ogg"
    r"|data/sounds/default/|/voices/|fillets-ng/sound/[^/]+/en/"
    r"|xmoto/textures/musics/|etr/music/|guitarstrums/"
    r"|stdsounds/(lrgexpl|smlexpl|splash|lrgcan)|/explosion\.(wav|ogg)|/(crash\d?|car_accel|horn"
    r"|engine_large|steamlocomotive|thunder|rain|skid|wilhelmscream|anvil|hammer)\.ogg"
    r"|doors/dr1_|/(snore|typewriter|cheer|letsgo|ohno|yipee|goodidea)\.(ogg|wav)"
)
EXCLUDE = (
    r"808|electricempire|hardelectro|ee_click|ee_whistle|/music/whistler|beewater|/ride|sidestick"
    r"|rimclick|/(hum|neonhum|powerhum)|ui_button_longclick|vari|audiophob|rumpf|bja_pacific"
    r"|fillets-ng/sound/corridor/en/ch-x-click|/buzz\.wav"
)
"""Matches of the rules that are not real recordings of the class: drum-machine emulations
(808, Electric Empire, Hard Electro), a music track called "Whistler", the bee-in-water sound,
cymbal bells and rim/side-stick hits, long-click variants, kits without clear sample names, a
spoken line filed under "click", and the quiz games' wrong-answer buzzer (a buzzer, not an
insect)."""

PER_CLASS = 20
"""At most this many clips per class, taken round-robin over source folders for variety."""
N_OTHER = 70


def label(path: str) -> str | None:
    """The dev-set folder of a package path (``None``: not used)."""
    low = path.lower()
    if re.search(EXCLUDE, low):
        return None
    for cls, rule in CLASS_RULES.items():
        if re.search(rule, low):
            return cls
    return "other" if re.search(OTHER_RULES, low) else None


def _interleave(items: list[str], key) -> list[str]:
    """``items`` reordered to take one from each ``key`` group in turn (groups sorted)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    queues = [groups[g] for g in sorted(groups)]
    out: list[str] = []
    while any(queues):
        out += [q.pop(0) for q in queues if q]
    return out


def _round_robin(keys: list[str], k: int) -> list[str]:
    """Up to ``k`` of the ``package:path`` keys, one package at a time and, inside a package,
    one source folder at a time, so that no package or folder dominates a class (sorted first,
    so the choice is reproducible)."""
    by_package: dict[str, list[str]] = defaultdict(list)
    for key in sorted(keys):
        by_package[key.split(":", 1)[0]].append(key)
    per_package = {p: _interleave(v, lambda s: s.rsplit("/", 1)[0]) for p, v in by_package.items()}
    queues = [per_package[p] for p in sorted(per_package)]
    out: list[str] = []
    while len(out) < k and any(queues):
        out += [q.pop(0) for q in queues if q][: k - len(out)]
    return out


def _unpack(package: str, work: Path) -> Path:
    subprocess.run(["apt-get", "download", package], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)
    deb = next(work.glob(f"{package}_*.deb"))
    root = work / package
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    deb.unlink()  # large; the unpacked tree is all that is needed
    return root


def _members(root: Path) -> dict[str, tuple[Path, str | None]]:
    """Every audio file of an unpacked package: ``path -> (file, archive member or None)``."""
    found = {}
    for f in root.rglob("*"):
        rel = "/" + f.relative_to(root).as_posix()
        if f.suffix.lower() in AUDIO and f.is_file():
            found[rel] = (f, None)
        elif f.suffix.lower() in ARCHIVES and f.is_file():
            with zipfile.ZipFile(f) as z:
                for m in z.namelist():
                    if m.lower().endswith(AUDIO):
                        found[f"{rel}!{m}"] = (f, m)
    return found


def _read(src: tuple[Path, str | None]) -> bytes:
    f, member = src
    if member is None:
        return f.read_bytes()
    with zipfile.ZipFile(f) as z:
        return z.read(member)


def build(out: Path, packages=PACKAGES, *, per_class: int = PER_CLASS,
          n_other: int = N_OTHER) -> dict[str, int]:
    """Download, label and copy; returns the number of files per folder."""
    bad = [p for p in packages if p.startswith(HELD_OUT)]
    if bad:
        raise SystemExit(f"refusing held-out packages: {bad}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "licences").mkdir(exist_ok=True)
    rows = ["file\tpackage\toriginal_path\tlicence"]
    counts: dict[str, int] = defaultdict(int)
    with tempfile.TemporaryDirectory(prefix="bgtai_devset_") as tmp:
        candidates: dict[str, list[tuple[str, str]]] = defaultdict(list)  # folder -> (pkg, path)
        sources, seen = {}, set()
        for package in packages:
            print(f"[devset] {package}", file=sys.stderr)
            root = _unpack(package, Path(tmp))
            for copyright_file in root.glob("usr/share/doc/*/copyright"):
                shutil.copyfile(copyright_file, out / "licences" / f"{package}.copyright")
            for path, src in _members(root).items():
                folder = label(path)
                if folder is None:
                    continue
                data = _read(src)
                digest = hashlib.sha1(data).hexdigest()
                if digest not in seen:  # the same file shipped twice (tuxmath and tuxtype)
                    seen.add(digest)
                    candidates[folder].append((package, path))
                    sources[(package, path)] = data
            shutil.rmtree(root)  # candidates' bytes are held; 0 A.D. alone unpacks to 1.5 GB
        for folder, items in sorted(candidates.items()):
            k = n_other if folder == "other" else per_class
            keyed = {f"{pkg}:{path}": (pkg, path) for pkg, path in items}
            chosen = _round_robin(list(keyed), k)
            (out / folder).mkdir(exist_ok=True)
            for key in chosen:
                pkg, path = keyed[key]
                # the parent folder too: drum kits reuse names such as Cowbell-Hard.wav
                name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{pkg}__{'_'.join(path.split('/')[-2:])}")
                dest, n = out / folder / name, 1
                while dest.exists():  # megaglest ships several different sounds/rain.ogg
                    dest, n = dest.with_name(f"{Path(name).stem}_{n}{Path(name).suffix}"), n + 1
                name = dest.name
                dest.write_bytes(sources[(pkg, path)])
                rows.append(f"{folder}/{name}\t{pkg}\t{path}\t{LICENCES[pkg]}")
                counts[folder] += 1
    (out / "SOURCES.tsv").write_text("\n".join(rows) + "\n")
    return dict(counts)


def main(argv=None) -> dict[str, int]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/real_sounds"))
    parser.add_argument("--per-class", type=int, default=PER_CLASS)
    parser.add_argument("--n-other", type=int, default=N_OTHER)
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"{args.out} is not empty; remove it or pick another --out")
    counts = build(args.out, per_class=args.per_class, n_other=args.n_other)
    for folder in (*CLASSES, "other"):
        print(f"{folder:8s} {counts.get(folder, 0)}")
    return counts


if __name__ == "__main__":
    main()
