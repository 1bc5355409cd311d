"""The shared subword vocabulary of the Langue2Gloss model.

Text and gloss share one BPE vocabulary (Hugging Face ``tokenizers``): the model sees gloss in
lower case (``x-i want desc-hot coffee``), so most gloss pieces are pieces of the input words
and the decoder can learn to copy and lemmatise words it never saw as wholes. A Metaspace
pre-tokenizer keeps word boundaries inside the pieces, so decoding restores the exact
whitespace and every piece can be traced back to its word (``word_ids``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = [PAD, BOS, EOS, UNK]
FILENAME = "tokenizer.json"


class SubwordVocab:
    """A lower-casing BPE tokenizer with pad/bos/eos/unk ids fixed at 0/1/2/3."""

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __init__(self, tokenizer: Tokenizer):
        self.tok = tokenizer
        for i, special in enumerate(SPECIALS):
            if tokenizer.token_to_id(special) != i:
                raise ValueError(f"tokenizer must map {special} to id {i}")

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 4000) -> "SubwordVocab":
        """Learn a BPE vocabulary from an iterable of sentences (text and gloss alike)."""
        tok = Tokenizer(models.BPE(unk_token=UNK))
        tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                      min_frequency=2, show_progress=False)
        tok.train_from_iterator(texts, trainer)
        return cls(tok)

    @classmethod
    def load(cls, directory: str | Path) -> "SubwordVocab":
        return cls(Tokenizer.from_file(str(Path(directory) / FILENAME)))

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / FILENAME
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tok.save(str(path))
        return path

    def __len__(self) -> int:
        return self.tok.get_vocab_size()

    def encode_words(self, words: list[str]) -> tuple[list[int], list[int]]:
        """Piece ids of a word sequence and, for each piece, the index of its word."""
        enc = self.tok.encode(" ".join(words))
        word_ids = [w if w is not None else 0 for w in enc.word_ids]
        return enc.ids, word_ids

    def decode_words(self, ids: list[int]) -> tuple[list[str], list[int]]:
        """Words of a piece sequence and, for each piece, the index of its word.

        Specials are skipped (their word index is -1). A piece opens a new word when it starts
        with the Metaspace marker.
        """
        words: list[str] = []
        piece_word: list[int] = []
        for i in ids:
            if i < len(SPECIALS):
                piece_word.append(-1)
                continue
            piece = self.tok.id_to_token(i)
            if piece.startswith("\u2581") or not words:
                words.append("")
                piece = piece.lstrip("\u2581")
            words[-1] += piece
            piece_word.append(len(words) - 1)
        keep = [k for k, w in enumerate(words) if w]
        remap = {old: new for new, old in enumerate(keep)}
        return [words[k] for k in keep], [remap.get(w, -1) for w in piece_word]
