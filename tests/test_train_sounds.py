"""The scripts that build the fine-tuning recordings: MIDI writing and file-name labels."""

from __future__ import annotations

import struct

import pytest

from scripts.make_gm_sounds import DRUMS, SLOT_S, TICKS_PER_S, _vlq, midi_file, presets
from scripts.make_sample_sounds import BUNDLED, LABELS, LICENCES, label
from scripts.make_sound_devset import HELD_OUT
from scripts.make_sound_devset import PACKAGES as DEV_PACKAGES


def _read_vlq(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    while True:
        value = (value << 7) | (data[i] & 0x7F)
        i += 1
        if not data[i - 1] & 0x80:
            return value, i


def _events(data: bytes) -> list[tuple[int, bytes]]:
    assert data[:4] == b"MThd" and struct.unpack(">IHHH", data[4:14]) == (6, 0, 1, TICKS_PER_S // 2)
    assert data[14:18] == b"MTrk"
    track = data[22:22 + struct.unpack(">I", data[18:22])[0]]
    out, i, now = [], 0, 0
    while i < len(track):
        delta, i = _read_vlq(track, i)
        now += delta
        size = 3 if track[i] == 0xFF else (2 if track[i] & 0xF0 == 0xC0 else 3)
        out.append((now, track[i:i + size]))
        i += size
    return out


def test_vlq_round_trips():
    for n in (0, 1, 127, 128, 2880, 2 ** 20):
        assert _read_vlq(_vlq(n), 0) == (n, len(_vlq(n)))


def test_midi_notes_start_one_slot_apart_and_end_on_time():
    events = _events(midi_file(14, [(60, 100, 0.5), (72, 80, 1.0)]))
    slot = round(SLOT_S * TICKS_PER_S)
    assert events[0] == (0, bytes([0xC0, 14]))
    ons = [(t, e) for t, e in events if e[0] == 0x90]
    offs = [(t, e) for t, e in events if e[0] == 0x80]
    assert [t for t, _ in ons] == [0, slot] and [e[1] for _, e in ons] == [60, 72]
    assert [t for t, _ in offs] == [TICKS_PER_S // 2, slot + TICKS_PER_S]
    assert events[-1] == (2 * slot, b"\xff\x2f\x00")


def test_drums_play_on_channel_ten_without_a_program_change():
    events = _events(midi_file(DRUMS, [(39, 90, 0.3)]))
    assert events[0][1] == bytes([0x99, 39, 90])


def test_a_bank_is_selected_before_the_program_change():
    events = _events(midi_file(125, [(60, 100, 0.5)], bank=5))
    assert [e for _, e in events[:2]] == [bytes([0xB0, 0, 5]), bytes([0xC0, 125])]
    assert _events(midi_file(125, [(60, 100, 0.5)]))[0][1] == bytes([0xC0, 125])  # bank 0: none


def test_presets_are_read_from_the_soundfont_preset_table(tmp_path):
    def record(name: bytes, program: int, bank: int) -> bytes:
        return name.ljust(20, b"\0") + struct.pack("<HHHIII", program, bank, 0, 0, 0, 0)

    table = record(b"Siren", 125, 5) + record(b"Standard", 0, 128) + record(b"EOP", 0, 0)
    font = tmp_path / "tiny.sf2"
    samples = b"phdr" + bytes(38)  # sample data that happens to hold the chunk's name
    pdta = b"pdta" + b"phdr" + struct.pack("<I", len(table)) + table
    font.write_bytes(b"RIFF\0\0\0\0sfbk"
                     + b"LIST" + struct.pack("<I", 4 + len(samples)) + b"sdta" + samples
                     + b"LIST" + struct.pack("<I", len(pdta)) + pdta)
    assert presets(font) == {(5, 125), (128, 0)}  # the terminator is no preset
    (tmp_path / "empty.sf2").write_bytes(b"RIFF")
    with pytest.raises(ValueError, match="no preset table"):
        presets(tmp_path / "empty.sf2")


def test_sample_labels_match_whole_stems_only():
    assert label("sonic-pi-samples", "perc_snap2") == "snap"
    assert label("lmms-common", "clap03") == "clap"
    assert label("sonic-pi-samples", "drum_tom_hi_hard") == "drum"
    assert label("sonic-pi-samples", "guit_em9") == "other"
    assert label("sonic-pi-samples", "drum_cymbal_open") is None
    assert label("sonic-pi-samples", "perc_snapper") is None
    assert label("bucklespring-data", "07-0") == "click"
    assert label("bucklespring-data", "07-1") is None and label("bucklespring-data", "57-0") is None


def test_sample_labels_are_per_package():
    assert label("lmms-common", "clap03") == "clap" and label("sonic-pi-samples", "clap03") is None
    assert label("tuxfootball", "refwhistleshort") == "whistle"
    assert label("no-such-package", "clap03") is None


def test_sample_packages_are_neither_dev_nor_held_out():
    assert set(LABELS) == set(LICENCES) and set(BUNDLED) <= set(LICENCES)
    assert not set(LICENCES) & set(DEV_PACKAGES)
    assert not any(p.startswith(HELD_OUT) for p in LICENCES)
