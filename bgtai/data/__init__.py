"""Data: the built-in audio-visual-language world and adapters for real data sets.

- :mod:`bgtai.data.events`    the sound classes, their parameter ranges and :class:`Event`
- :mod:`bgtai.data.sounds`    the synthesizer (an event -> a waveform at its exact level)
- :mod:`bgtai.data.images`    the drawn objects (pitch -> hue, loudness -> size, count)
- :mod:`bgtai.data.clips`     clips: an audio track with 1-3 events and a 4 fps frame sequence
- :mod:`bgtai.data.world`     splits, the on-the-fly ``WorldDataset`` and the cache CLI
- :mod:`bgtai.data.language`  descriptions of events and their glosses
- :mod:`bgtai.data.speech`    spoken descriptions (espeak-ng voices, augmentation)
- :mod:`bgtai.data.corpus`    the Langue2Gloss training corpus (WordNet examples + world)
- :mod:`bgtai.data.adapters`  ESC-50, UrbanSound8K, VGGSound, AudioCaps, Clotho, How2, ASLG-PC12
- :mod:`bgtai.data.cache`     names of on-disk caches of frozen features computed from files
"""
