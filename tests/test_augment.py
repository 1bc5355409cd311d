"""Domain randomisation of world audio (bgtai.data.augment)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bgtai.data.augment import Randomisation, coloured_noise, randomise, room_impulse_response


def _tone(seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(int(16000 * seconds)) / 16000
    return 0.1 * torch.sin(2 * torch.pi * 440 * t) * (t < 0.5)


def _rms(x: torch.Tensor) -> float:
    return float(x.pow(2).mean().sqrt())


def test_randomise_keeps_length_and_level_and_changes_the_sound():
    wave = _tone()
    spec = Randomisation(p_room=1.0, p_mic=1.0, p_noise=1.0, p_clip=0.0)
    out = randomise(wave, torch.Generator().manual_seed(0), spec)
    assert out.shape == wave.shape
    assert _rms(out) == pytest.approx(_rms(wave), rel=1e-3)
    # the room's tail and the noise fill the silent second half
    assert _rms(out[9000:]) > 100 * _rms(wave[9000:]) + 1e-4
    assert float((out - wave).abs().max()) > 0.01


def test_randomise_is_deterministic_per_generator_and_varies_between_draws():
    wave = _tone()
    a = randomise(wave, torch.Generator().manual_seed(3))
    b = randomise(wave, torch.Generator().manual_seed(3))
    c = randomise(wave, torch.Generator().manual_seed(4))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_randomise_with_nothing_switched_on_is_the_identity():
    spec = Randomisation(p_room=0.0, p_mic=0.0, p_noise=0.0, p_clip=0.0)
    wave = _tone()
    torch.testing.assert_close(randomise(wave, torch.Generator().manual_seed(0), spec), wave)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="1-D"):
        randomise(torch.zeros(2, 100), torch.Generator())
    with pytest.raises(ValueError, match="probability"):
        Randomisation(p_room=1.5)


def test_room_impulse_response_decays_at_its_rt60_and_keeps_the_direct_path():
    rir = room_impulse_response(torch.Generator().manual_seed(0), rt60_s=0.5,
                                direct_to_reverb_db=6.0)
    assert rir[0] == 1.0 and rir.numel() == 8000
    tail = rir[1:]
    assert 10 * np.log10(float(tail.pow(2).sum())) == pytest.approx(-6.0, abs=1e-3)
    early, late = float(tail[:800].pow(2).mean()), float(tail[-800:].pow(2).mean())
    assert 10 * np.log10(early / late) > 40  # ~54 dB from 0.05 s to 0.45 s at RT60 0.5 s


def test_coloured_noise_has_unit_level_and_its_slope():
    g = torch.Generator().manual_seed(0)
    white, brown = coloured_noise(g, 16000, 0.0), coloured_noise(g, 16000, 2.0)
    assert _rms(white) == pytest.approx(1.0, rel=1e-4)

    def low_share(x):
        p = torch.fft.rfft(x).abs() ** 2
        return float(p[:800].sum() / p.sum())  # below 800 Hz

    assert low_share(white) == pytest.approx(0.1, abs=0.02)
    assert low_share(brown) > 0.9
