"""The course's data: builders and loaders of every data set, apart from the concept modules.

Load a data set by name with :func:`ch11lib.resources.load_dataset`; the one table of data sets is
:data:`ch11lib.resources.DATASETS` (name -> the functions below that build it offline or adapt the hub
version). Nothing registers itself on import.

- :mod:`ch11lib.data.wordnet`: WordNet 3.0 through NLTK, from NLTK data or Debian's packages
  (chapters 02, 05, 07 and every WordNet-derived set below).
- :mod:`ch11lib.data.tasks`: the classification tasks ``supersense`` and ``nli`` (chapters 09, 12; a5).
- :mod:`ch11lib.data.ner`: the silver NER data ``ner`` and the CoNLL-2003 adapter (chapters 10, 11; a5).
- :mod:`ch11lib.data.wsd_examples`: WordNet's sense-tagged example sentences (chapters 07, 08; a4).
- :mod:`ch11lib.data.word_similarity`: ``simlex999`` and ``wordsim353`` (chapter 08).
- :mod:`ch11lib.data.chatterbot`: the multilingual dialogue corpus ``chatterbot-multilingual``
  (chapter 06).
- :mod:`ch11lib.data.splits`: the one deterministic hash split every data set uses.
- :mod:`ch11lib.data.corpus`: the pretraining corpus from Debian's dictionaries and WordNet
  (chapters 02-05; ``scripts/pretrain_course_bert.py``).
- :mod:`ch11lib.data.heldout_text`: its held-out dictd documents, shipped as an asset, so that the
  pages need no dictd package (chapters 02-05).
- :mod:`ch11lib.data.everyday_text`: everyday English added to the corpus for continued pretraining
  (``scripts/continue_pretraining_minilm.py``; training only).
"""
