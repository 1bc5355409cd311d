"""Tests of the gloss conventions, the rule-based converter and text validation."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bgtai.gloss import (
    english_to_gloss,
    english_to_gloss_tokens,
    gloss_alignment,
    lexicon,
    sanitize_text,
    sentence_spans,
    tokenize_words,
    validate_text,
)
from bgtai.gloss.rules import intact_forms

PAIRS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "aslg_pc12_dev.tsv"


def _read_pairs(first: int, last: int) -> list[tuple[str, str]]:
    """Lines ``first``..``last`` (1-based, inclusive) of the shared ASLG-PC12 file."""
    if not PAIRS.is_file():
        pytest.skip(f"shared ASLG-PC12 pairs not found at {PAIRS} (the ../shared/data folder)")
    lines = PAIRS.read_text(encoding="utf-8").splitlines()[first - 1 : last]
    return [tuple(line.split("\t")) for line in lines]


# --- conventions on hand-written examples ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # articles and "of" dropped, nouns singular, verbs lemmatised, punctuation kept
        ("The cat sat on a mat.", "CAT SIT ON MAT ."),
        ("The members of the committees were talking .", "MEMBER COMMITTEE BE TALK ."),
        # X- pronouns: object and possessive forms fold onto the subject form
        ("We told you about our plans.", "X-WE TELL X-YOU ABOUT X-WE PLAN ."),
        ("I gave it to him", "X-I GIVE X-IT TO X-HE"),
        # DESC- adjectives and adverbs, kept in their surface form
        ("This is an important report.", "THIS BE DESC-IMPORTANT REPORT ."),
        ("She answered quickly and clearly.", "X-SHE ANSWER DESC-QUICKLY AND DESC-CLEARLY ."),
        ("We do not agree.", "X-WE DO DESC-NOT AGREE ."),
        # clitics: negation, possessive "'s"
        ("We can't accept Europe's proposal!", "X-WE CAN DESC-NOT ACCEPT EUROPE X-POSS PROPOSAL !"),
        ("I cannot vote", "X-I CAN DESC-NOT VOTE"),
        # words keep their letters (the corpus' THE-deletion is opt-in, see below)
        ("They were there themselves.", "X-THEY BE DESC-THERE X-THEMSELVES ."),
        ("These questions", "THESE QUESTION"),
        ("Russia and Mr Monti", "RUSSIA AND MR MONTI"),
        # proper adjectives are glossed like names
        ("The European Union", "EUROPEAN UNION"),
        # punctuation and numbers kept as they are
        ("However, 11 % is low?", "DESC-HOWEVER , 11 % BE DESC-LOW ?"),
    ],
)
def test_conventions(text: str, expected: str) -> None:
    assert english_to_gloss(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Russia and Serbia", "RUSSIUM AND SERBIUM"),  # Latin plural rule applied to names
        ("Mr Monti", "MR MONTUS"),
        # the corpus' deletion of the letters THE inside tokens
        ("They were there themselves.", "X-Y BE DESC-RE X-MSELVES ."),
        ("These questions", "SE QUESTION"),
        ("in favour of the programme", "IN FAVOR PROGRAM"),  # American spelling of lemmas
        ("human rights and goods", "DESC-HUMAN RIGHTS AND GOODS"),  # pluralia tantum
        ("we vote today", "X-WE VOTE TODAY"),  # time words are nouns
        ("developing countries", "DEVELOP COUNTRY"),  # participles are verbs
        ("let's go, it's late", "LET X-WE GO , X-IT BE DESC-LATE"),  # "'s" is not always possessive
    ],
)
def test_corpus_quirks(text: str, expected: str) -> None:
    assert english_to_gloss(text, aslg_quirks=True) == expected


def test_gloss_string_is_the_joined_tokens() -> None:
    text = "We must focus on the real solutions, not on the symptoms."
    assert english_to_gloss(text) == " ".join(english_to_gloss_tokens(text))


def test_case_and_spacing_do_not_matter() -> None:
    assert english_to_gloss("we MUST   focus on the Real solutions .") == english_to_gloss(
        "We must focus on the real solutions."
    )


def test_all_tokens_are_upper_case() -> None:
    for token in english_to_gloss_tokens("Ministers quickly discussed their new budgets today."):
        assert token == token.upper()


# --- tokenisation and alignment ----------------------------------------------------------------


def test_tokenize_words_splits_clitics_hyphens_and_punctuation() -> None:
    assert tokenize_words("Don’t use non-industrial 3.5% methods!") == [
        "Do", "n't", "use", "non", "industrial", "3.5", "%", "methods", "!",
    ]
    assert tokenize_words("the members' votes") == ["the", "members", "'", "votes"]


def _check_alignment(text: str) -> None:
    words = tokenize_words(text)
    tokens = english_to_gloss_tokens(text)
    alignment = gloss_alignment(text)
    assert len(alignment) == len(tokens)
    flat = [i for sources in alignment for i in sources]
    assert all(sources for sources in alignment)
    assert all(0 <= i < len(words) for i in flat)
    assert flat == sorted(flat), "the rule alignment is monotonic"
    for token, sources in zip(tokens, alignment):
        if token in {",", ".", "?", "!"}:
            assert [words[i] for i in sources] == [token]


def test_alignment_points_at_the_source_words() -> None:
    text = "The commission's proposals cannot be accepted."
    words = tokenize_words(text)
    tokens = english_to_gloss_tokens(text)
    alignment = gloss_alignment(text)
    _check_alignment(text)
    by_token = {token: [words[i] for i in sources] for token, sources in zip(tokens, alignment)}
    assert by_token["COMMISSION"] == ["commission"]
    assert by_token["X-POSS"] == ["'s"]
    assert by_token["PROPOSAL"] == ["proposals"]
    assert by_token["CAN"] == by_token["DESC-NOT"] == ["cannot"]
    assert by_token["ACCEPT"] == ["accepted"]
    dropped = {i for i, word in enumerate(words) if word.lower() == "the"}
    assert not dropped & {i for sources in alignment for i in sources}


def test_alignment_is_valid_on_corpus_sentences() -> None:
    for text, _ in _read_pairs(1001, 1200):
        _check_alignment(text)


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \t\n ", "empty"),
        ("\u200b\u200f", "empty"),
        ("?! ... ,", "only punctuation"),
        ("\U0001F600 \U0001F44D", "only punctuation or symbols"),
        ("word " * 501, "too long: 501 words"),
        ("Привет, как дела?", "English"),
        ("你好世界", "no Latin letters"),
        (None, "must be a string"),
        (b"bytes", "must be a string"),
    ],
)
def test_bad_text_raises_a_clear_error(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_text(text)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        english_to_gloss(text)  # type: ignore[arg-type]


def test_max_words_is_configurable() -> None:
    assert validate_text("one two three", max_words=3) == "one two three"
    with pytest.raises(ValueError, match="at most 2"):
        validate_text("one two three", max_words=2)
    with pytest.raises(ValueError, match="max_words"):
        validate_text("one", max_words=0)


def test_validate_text_normalises() -> None:
    assert validate_text("  ｆｕｌｌ\u00a0width\x00 and\u202e  rtl\u200b \n lines ") == (
        "full width and rtl lines"
    )
    assert validate_text("it’s") == "it's"
    assert validate_text("9 .") == "9 ."  # digits alone are fine


@pytest.mark.parametrize("raw,clean", [
    ("\x1b[31mhello world\x1b[0m", "hello world"),          # colour (CSI)
    ("\x1b[1;4;38;5;196mbold\x1b[K red", "bold red"),       # several parameters, erase line
    ("\x1b]0;window title\x07text", "text"),                # OSC ended by BEL
    ("\x1b]8;;http://x.y\x1b\\link\x1b]8;;\x1b\\ here", "link here"),  # hyperlink, ended by ST
    ("a\x9b31mb", "ab"),                                     # the one-byte CSI
    ("\x1bcreset", "reset"),                                 # a two-character escape
    ("tab\there\r\nnew\x00\x07line", "tab here  newline"),  # whitespace controls become spaces
    ("zero\u200bwidth \u202eright\u00ad", "zerowidth right"),   # format characters
    ("café naïve 3.5 % — ok", "café naïve 3.5 % — ok"),      # text stays as it is
])
def test_sanitize_text_removes_escapes_and_controls(raw: str, clean: str) -> None:
    assert sanitize_text(raw) == clean


def test_escape_sequences_never_reach_the_gloss() -> None:
    assert english_to_gloss("\x1b[31mhello world") == "HELLO WORLD"
    assert tokenize_words("\x1b[1mI\x1b[0m want\x1b[2K coffee") == ["I", "want", "coffee"]
    with pytest.raises(ValueError, match="empty"):
        validate_text("\x1b[31m\x1b[0m")


def _sentences(text: str, **kwargs) -> list[str]:
    words = tokenize_words(text)
    spans = sentence_spans(words, **kwargs)
    assert [i for a, b in spans for i in range(a, b)] == list(range(len(words)))  # a partition
    return [" ".join(words[a:b]) for a, b in spans]


def test_sentence_spans_split_at_sentence_ends() -> None:
    assert _sentences("I want coffee. You want tea! Do they?") == [
        "I want coffee .", "You want tea !", "Do they ?"]
    assert _sentences('He said "stop!" Then he left... (Really?!) ok') == [
        'He said " stop ! "', "Then he left . . .", "( Really ? ! )", "ok"]
    # abbreviations, initials and decimals are not sentence ends
    assert _sentences("Mr. Smith met Dr. J. R. Brown, e.g. at 3.5 p.m. today.") == [
        "Mr . Smith met Dr . J . R . Brown , e . g . at 3.5 p . m . today ."]
    # the corpus is lower case: the next word's case is not needed
    assert _sentences("the date is not a fetish . the results speak .") == [
        "the date is not a fetish .", "the results speak ."]
    assert sentence_spans([]) == []


def test_long_sentences_are_cut_at_clauses() -> None:
    text = "one two three, four five; six seven eight nine ten eleven"
    assert _sentences(text, max_words=6) == ["one two three ,", "four five ;",
                                             "six seven eight nine ten eleven"]
    assert _sentences("a b c d e f g", max_words=3) == ["a b c", "d e f", "g"]
    with pytest.raises(ValueError, match="max_words"):
        sentence_spans(["a"], max_words=0)


def test_hostile_text_never_crashes() -> None:
    rng = random.Random(0)
    alphabet = (
        "abcdefghijklmnopqrstuvwxyz ABCXYZ .,;:!?'’\"-()[]{}%$€&/\\0123456789"
        "\x00\x07\x1b\t\r\n\u200b\u200e\u200f\u202a\u202e\ufeff\u0301é ß ﬁ"
        "\U0001F600\U0001F44D\U0001F1EA\U0001F1FA中文עבריתالعربية\ud800"
    )
    samples = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 400))) for _ in range(200)
    ]
    samples += ["a" * 10_000, "word " * 2_000, "x" + "\u0301" * 10_000, "'" * 500 + "a"]
    for text in samples:
        try:
            tokens = english_to_gloss_tokens(text)
        except ValueError:
            continue
        assert len(gloss_alignment(text)) == len(tokens)
        assert all(token and " " not in token for token in tokens)


# --- lexicon ---------------------------------------------------------------------------------


def test_missing_wordnet_gives_an_actionable_error(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("BGTAI_WORDNET_DIR", str(tmp_path))
    lexicon.wordnet_dir.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="wordnet-base"):
            lexicon.wordnet_dir()
    finally:
        monkeypatch.delenv("BGTAI_WORDNET_DIR")
        lexicon.wordnet_dir.cache_clear()


# --- quality on real pairs ---------------------------------------------------------------------


def test_bleu4_on_the_aslg_pc12_test_half() -> None:
    sacrebleu = pytest.importorskip("sacrebleu")
    pairs = _read_pairs(1, 1000)
    references = [gloss for _, gloss in pairs]

    def bleu(hypotheses):
        return sacrebleu.corpus_bleu(hypotheses, [references], force=True).score

    rules = bleu([english_to_gloss(text) for text, _ in pairs])
    quirks = bleu([english_to_gloss(text, aslg_quirks=True) for text, _ in pairs])
    upper = bleu([t.upper() for t, _ in pairs])
    assert rules >= 80.0, f"rule-based gloss scores {rules:.1f} BLEU-4 on the test half"
    assert quirks > rules  # reproducing the corpus' artefacts brings the output closer to it
    assert rules > upper + 50.0


@pytest.mark.parametrize("text", ["They were there themselves.", "These questions about Russia",
                                  "Mr Monti and the other members worked together with them.",
                                  "Therefore we strengthen the theatre."])
def test_intact_forms_undo_the_corpus_artefacts(text: str) -> None:
    forms = intact_forms(text)
    quirky = english_to_gloss_tokens(text, aslg_quirks=True)
    assert [forms.get(t, t) for t in quirky] == english_to_gloss_tokens(text)
    assert not set(forms) & set(english_to_gloss_tokens(text))  # intact words stay as they are


def test_intact_forms_of_examples() -> None:
    assert intact_forms("They saw Russia there.") == {
        "X-Y": "X-THEY", "RUSSIUM": "RUSSIA", "DESC-RE": "DESC-THERE"}
    assert intact_forms("We must give every child a fair chance.") == {}
