"""Render labelled real-instrument sounds of the world's classes from General MIDI soundfonts.

    apt-get install fluidsynth fluid-soundfont-gm      # FluidR3_GM, MIT licence
    python -m scripts.make_gm_sounds --out runs/gm_sounds
    # more recordings of the same instruments, and GS sound effects (siren, bird 2, dog...):
    apt-get install fluid-soundfont-gs timgm6mb-soundfont musescore-general-soundfont
    python -m scripts.make_gm_sounds --out runs/gm_sounds --soundfonts gm gs tim msg

The soundfonts are built from recordings of real instruments and sound effects (hand claps,
cowbells, toms, tubular bells, bird tweets, whistles, wood blocks, a siren...). Each source's
notes are written into one MIDI file (one note every :data:`SLOT_S` seconds, random length,
velocity and, for pitched classes, key within the class's pitch range), rendered dry (no
reverb, no chorus) by ``fluidsynth`` at 16 kHz and cut back into one file per note:
``OUT/<class>/*.wav`` for the world's classes and ``OUT/other/*.wav`` for instruments and
effects outside the world (piano, guitar, brass, engines, dogs...), the layout
``train.finetune_audio --real-dir`` reads. A source is rendered from every given soundfont that
has its preset in a bank taken from that soundfont (:data:`SOUNDFONTS`; a missing preset would
make fluidsynth play another one under the wrong label).
``OUT/SOURCES.tsv`` lists every file with its soundfont, package, preset and licence. Nothing
here comes from the packages of the real-sound dev set (docs/real_sounds.md), which is for
choosing models only.
"""

from __future__ import annotations

import argparse
import math
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from bgtai.audio import SAMPLE_RATE
from bgtai.data.events import PITCH_RANGES

SOUNDFONTS: dict[str, tuple[Path, str, str, frozenset[int]]] = {
    "gm": (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), "fluid-soundfont-gm",
           "MIT (FluidR3_GM by Frank Wen)", frozenset({0})),
    "gs": (Path("/usr/share/sounds/sf2/FluidR3_GS.sf2"), "fluid-soundfont-gs",
           "MIT (FluidR3 GS variations by Frank Wen)", frozenset(range(1, 9))),
    "tim": (Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), "timgm6mb-soundfont",
            "GPL-2 (TimGM6mb by Tim Brechbill)", frozenset({0})),
    "msg": (Path("/usr/share/sounds/sf3/MuseScore_General.sf3"), "musescore-general-soundfont",
            "MIT, parts CC0 / public domain (MuseScore General by S. Christian Collins)",
            frozenset({0, 1, 8, 10})),
}
"""Soundfont name (the file-name prefix) -> file, Debian package, licence, and the banks taken
from it: FluidR3 GM's own variation banks are left to MuseScore General (built on FluidR3), so
that ``--soundfonts gm`` renders the 42 bank-0 sources it always did, note for note."""
SLOT_S = 3.0
"""Seconds between note starts: room for the longest note (2 s) and its release."""
TICKS_PER_S = 960  # 480 ticks per beat at the default 120 beats per minute
DRUMS = -1
"""Program number standing for General MIDI's percussion channel (10)."""

# (folder, name, bank, program or DRUMS, drum key or None, pitched as which class or None)
SOURCES: tuple[tuple[str, str, int, int, int | None, str | None], ...] = (
    ("clap", "hand_clap", 0, DRUMS, 39, None),
    ("clap", "applause", 0, 126, None, None),
    ("drum", "kick", 0, DRUMS, 36, None),
    ("drum", "acoustic_bass_drum", 0, DRUMS, 35, None),
    ("drum", "snare", 0, DRUMS, 38, None),
    ("drum", "low_floor_tom", 0, DRUMS, 41, None),
    ("drum", "low_tom", 0, DRUMS, 45, None),
    ("drum", "mid_tom", 0, DRUMS, 47, None),
    ("drum", "high_tom", 0, DRUMS, 50, None),
    ("drum", "high_bongo", 0, DRUMS, 60, None),
    ("drum", "low_bongo", 0, DRUMS, 61, None),
    ("drum", "low_conga", 0, DRUMS, 64, None),
    ("drum", "high_timbale", 0, DRUMS, 65, None),
    ("drum", "taiko", 0, 116, None, None),
    ("bell", "cowbell", 0, DRUMS, 56, None),
    ("bell", "open_triangle", 0, DRUMS, 81, None),
    ("bell", "tubular_bells", 0, 14, None, "bell"),
    ("bell", "glockenspiel", 0, 9, None, "bell"),
    ("bell", "agogo", 0, 113, None, "bell"),
    ("click", "claves", 0, DRUMS, 75, None),
    ("click", "high_wood_block", 0, DRUMS, 76, None),
    ("click", "low_wood_block", 0, DRUMS, 77, None),
    ("click", "side_stick", 0, DRUMS, 37, None),
    ("whistle", "short_whistle", 0, DRUMS, 71, None),
    ("whistle", "long_whistle", 0, DRUMS, 72, None),
    ("whistle", "whistle", 0, 78, None, "whistle"),
    ("chirp", "bird_tweet", 0, 123, None, "chirp"),
    ("hiss", "breath_noise", 0, 121, None, None),
    ("hum", "voice_oohs", 0, 53, None, "hum"),
    ("other", "piano", 0, 0, None, None),
    ("other", "nylon_guitar", 0, 24, None, None),
    ("other", "steel_guitar", 0, 25, None, None),
    ("other", "organ", 0, 19, None, None),
    ("other", "strings", 0, 48, None, None),
    ("other", "trumpet", 0, 56, None, None),
    ("other", "tenor_sax", 0, 66, None, None),
    ("other", "flute", 0, 73, None, None),
    ("other", "bass", 0, 33, None, None),
    ("other", "helicopter", 0, 125, None, None),
    ("other", "gunshot", 0, 127, None, None),
    ("other", "seashore", 0, 122, None, None),
    ("other", "crash_cymbal", 0, DRUMS, 49, None),
    # MuseScore General's variation banks
    ("bell", "church_bell", 8, 14, None, "bell"),
    ("click", "temple_blocks", 1, 115, None, None),
    ("click", "castanets", 8, 115, None, None),
    ("click", "metronome", 10, 115, None, None),
    ("drum", "concert_bass_drum", 8, 116, None, None),
    # Roland GS sound effects (FluidR3 GS): variations of GM's effect programs
    ("chirp", "bird_2", 3, 123, None, "chirp"),
    ("siren", "siren", 5, 125, None, None),
    ("bell", "wind_chimes", 5, 124, None, None),
    ("click", "flute_key_click", 1, 121, None, None),
    ("other", "dog", 1, 123, None, None),
    ("other", "horse_gallop", 2, 123, None, None),
    ("other", "telephone_2", 1, 124, None, None),
    ("other", "door_creaking", 2, 124, None, None),
    ("other", "door_slam", 3, 124, None, None),
    ("other", "car_engine", 1, 125, None, None),
    ("other", "car_pass", 3, 125, None, None),
    ("other", "train", 6, 125, None, None),
    ("other", "jet_plane", 7, 125, None, None),
    ("other", "laughs", 1, 126, None, None),
    ("other", "screaming", 2, 126, None, None),
    ("other", "machine_gun", 1, 127, None, None),
    ("other", "explosion", 3, 127, None, None),
)
"""What is rendered: folder (world class or ``other``), file stem, bank, GM program (or
:data:`DRUMS` for the standard drum kit), drum key, and for pitched sources the class whose pitch
range the keys are drawn from. Rain, wind, streams, heartbeats and footsteps of the GS effects
are left out: too close to the world's hiss, drum and click to be called "other"."""


def _vlq(n: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.append(0x80 | (n & 0x7F))
    return bytes(reversed(out))


def midi_file(program: int, notes: list[tuple[int, int, float]], bank: int = 0) -> bytes:
    """A format-0 MIDI file playing ``(key, velocity, seconds)`` notes, one per :data:`SLOT_S`,
    on ``program`` of ``bank`` (a bank select before the program change when not 0)."""
    channel = 9 if program == DRUMS else 0
    track = b""
    if bank:
        track += _vlq(0) + bytes([0xB0 | channel, 0, bank])
    if program != DRUMS:
        track += _vlq(0) + bytes([0xC0 | channel, program])
    slot, wait = round(SLOT_S * TICKS_PER_S), 0
    for key, velocity, seconds in notes:
        on = round(seconds * TICKS_PER_S)
        track += _vlq(wait) + bytes([0x90 | channel, key, velocity])
        track += _vlq(on) + bytes([0x80 | channel, key, 0])
        wait = slot - on
    track += _vlq(wait) + b"\xff\x2f\x00"
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_S // 2)
            + b"MTrk" + struct.pack(">I", len(track)) + track)


def _keys(rng: np.random.Generator, pitched_as: str | None, n: int) -> list[int]:
    if pitched_as is None:
        return [60] * n  # an unpitched program sounds alike on any key; 60 is within all ranges
    lo, hi = PITCH_RANGES[pitched_as]
    midi = lambda hz: 69 + 12 * math.log2(hz / 440.0)  # noqa: E731
    return [int(k) for k in rng.integers(math.ceil(midi(lo)), math.floor(midi(hi)) + 1, n)]


def presets(soundfont: Path) -> set[tuple[int, int]]:
    """The ``(bank, program)`` pairs a soundfont (SF2 or SF3) defines, from the ``phdr`` table of
    its ``pdta`` list (walked chunk by chunk: sample data may hold those four bytes by chance);
    drum kits are bank 128."""
    data = soundfont.read_bytes()

    def chunks(start: int, end: int):
        while start + 8 <= end:
            size = struct.unpack("<I", data[start + 4:start + 8])[0]
            yield data[start:start + 4], start + 8, size
            start += 8 + size + (size & 1)  # chunks are padded to even sizes

    for name, at, size in chunks(12, len(data)):  # after "RIFF", its size and "sfbk"
        if name == b"LIST" and data[at:at + 4] == b"pdta":
            for sub, sub_at, sub_size in chunks(at + 4, at + size):
                if sub == b"phdr":  # 38-byte records; the last is a terminator
                    records = range(sub_at, sub_at + sub_size - 38, 38)
                    return {struct.unpack("<HH", data[r + 20:r + 24])[::-1] for r in records}
    raise ValueError(f"{soundfont} has no preset table (phdr)")


def render(bank: int, program: int, drum_key: int | None, pitched_as: str | None, n: int,
           rng: np.random.Generator, soundfont: Path) -> list[np.ndarray]:
    """``n`` notes of one source, rendered and cut into 16 kHz mono waves (silent ones dropped)."""
    keys = [drum_key] * n if drum_key is not None else _keys(rng, pitched_as, n)
    notes = [(k, int(rng.integers(50, 128)), float(rng.uniform(0.2, 2.0))) for k in keys]
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "notes.mid", Path(tmp) / "notes.wav"
        mid.write_bytes(midi_file(program, notes, bank))
        subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.6",
                        "-r", str(SAMPLE_RATE), "-F", str(wav), str(soundfont), str(mid)],
                       check=True, capture_output=True)
        audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    slot = round(SLOT_S * SAMPLE_RATE)
    waves = []
    for i in range(n):
        wave = audio[i * slot:(i + 1) * slot]
        loud = np.flatnonzero(np.abs(wave) > 1e-3)
        if loud.size:  # trim the silent tail after the release
            waves.append(wave[: loud[-1] + 1])
    return waves


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--per-source", type=int, default=24, help="notes rendered per source")
    p.add_argument("--soundfonts", nargs="+", choices=sorted(SOUNDFONTS), default=["gm"],
                   help="which soundfonts to render from (file names prefixed with the name)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for name in args.soundfonts:
        path, package, _, _ = SOUNDFONTS[name]
        if not path.is_file():
            p.error(f"no soundfont at {path}: apt-get install fluidsynth {package}")
    rng = np.random.default_rng(args.seed)
    rows = ["file\tpackage\tsource\tlicence"]
    for sf_name in args.soundfonts:
        path, package, licence, banks = SOUNDFONTS[sf_name]
        has = presets(path)
        for folder, name, bank, program, key, pitched_as in SOURCES:
            if bank not in banks or ((128, 0) if program == DRUMS else (bank, program)) not in has:
                continue
            (args.out / folder).mkdir(parents=True, exist_ok=True)
            waves = render(bank, program, key, pitched_as, args.per_source, rng, path)
            for i, wave in enumerate(waves):
                rel = f"{folder}/{sf_name}_{name}_{i:02d}.wav"
                sf.write(args.out / rel, wave, SAMPLE_RATE, subtype="FLOAT")
                preset = f"drum key {key}" if program == DRUMS else f"bank {bank} program {program}"
                rows.append(f"{rel}\t{package}\t{preset}\t{licence}")
    (args.out / "SOURCES.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows) - 1} files in {args.out}")


if __name__ == "__main__":
    main()
