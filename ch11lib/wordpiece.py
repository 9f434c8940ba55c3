"""Training a BERT-style WordPiece vocabulary with ``tokenizers``, the same in every run.

Pages ``04_pretraining_a_bert`` (the course BERT's vocabulary) and ``06_multilingual``.

Both the multilingual chapter (a shared vocabulary for several languages) and the script that pretrains
the course BERT train their vocabularies here, so the two get the same fix for the trainer's
run-to-run tie order (see :func:`train_wordpiece`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

WORDPIECE_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(
    texts: Sequence[str],
    vocab_size: int = 4000,
    limit_alphabet: int | None = 300,
    *,
    strip_accents: bool = False,
    min_frequency: int = 0,
):
    """Train a lower-cased BERT WordPiece ``tokenizers.Tokenizer`` on ``texts``.

    ``limit_alphabet`` keeps only the most frequent characters as the alphabet (multilingual BERT
    vocabularies must do the same): characters the trainer rarely saw become [UNK]; ``None`` keeps
    every character. ``strip_accents`` removes accents as BERT's English uncased models do;
    ``min_frequency`` is the trainer's minimum pair count for a merge.

    The result is the same in every run. Left to itself, the ``tokenizers`` trainer breaks ties in
    hash-map order, which changes from run to run: between equally frequent characters at the
    alphabet's cut-off, and between equally frequent merges (compared through the ids it gives the
    ``##`` pieces as it meets them). So the alphabet is chosen here (most frequent first, ties by
    code point) and the ``##`` piece of every alphabet character that continues a word is numbered
    in sorted order before training; the vocabulary is otherwise what the trainer would learn.
    The tokenizer has no post-processor: add ``[CLS]``/``[SEP]`` templates where they are needed.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    if not texts:
        raise ValueError("cannot train a vocabulary on no text")
    if vocab_size < len(WORDPIECE_SPECIAL_TOKENS) + 1:
        raise ValueError(f"vocab_size must leave room beyond the special tokens, got {vocab_size}")
    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=strip_accents)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words = [
        word
        for text in texts
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
    ]
    counts = Counter("".join(words))
    ranked = sorted(counts, key=lambda c: (-counts[c], c))
    alphabet = sorted(ranked if limit_alphabet is None else ranked[:limit_alphabet])
    continuing = sorted(set("".join(word[1:] for word in words)).intersection(alphabet))
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        limit_alphabet=len(alphabet),
        initial_alphabet=alphabet,
        min_frequency=min_frequency,
        # numbered first, in this order (as special tokens; they are plain pieces once trained)
        special_tokens=WORDPIECE_SPECIAL_TOKENS + [f"##{c}" for c in continuing],
        show_progress=False,
    )
    training = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    training.normalizer, training.pre_tokenizer = normalizer, pre_tokenizer
    training.train_from_iterator(list(texts), trainer=trainer)

    vocab = training.get_vocab(with_added_tokens=False)
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer, tokenizer.pre_tokenizer = normalizer, pre_tokenizer
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.add_special_tokens(WORDPIECE_SPECIAL_TOKENS)
    return tokenizer
