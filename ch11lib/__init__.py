"""ch11lib: the companion library of the course "Fine-Tuning and Masked Language Models".

One module per idea of SLP3 chapter 11, named after the page that teaches it. The map, page by page
(page -> the modules it uses -> the assignment that asks students to write them):

=====================================  ==========================================  ==========
page (``chapters/``)                   modules                                     assignment
=====================================  ==========================================  ==========
01_bidirectional_encoders              ``encoder``                                 a1_encoder
02_masked_language_modelling           ``masking``, ``cloze``                      a2_mlm
03_next_sentence_prediction            ``nsp``                                     a3_nsp_spans
04_pretraining_a_bert                  ``pretraining``, ``data.corpus``,           -
                                       ``wordpiece``, ``continued_pretraining``,
                                       ``cloze``
05_spanbert                            ``spanbert``                                a3_nsp_spans
06_multilingual                        ``multilingual``, ``wordpiece``             a4_representations
07_contextual_embeddings_wsd           ``embeddings``, ``wsd``                     a4_representations
08_anisotropy                          ``anisotropy``, ``embeddings``              a4_representations
09_sequence_and_pair_classification    ``heads``, ``training``                     a5_finetuning
10_sequence_labelling                  ``tagging``                                 a5_finetuning
11_span_based                          ``span_ner``, ``tagging``                   a5_finetuning
12_distillation                        ``distillation``, ``heads``, ``training``   -
=====================================  ==========================================  ==========

Apart from the concept modules:

- ``resources``: one switch (``CH11_SOURCE``) that resolves every model and data set, offline by
  default; ``resources.DATASETS`` is the one table of data sets.
- ``data``: the data sets' builders and loaders (WordNet, task data, NER data, WSD examples,
  word-similarity sets, the multilingual corpus, the hash split) and the pretraining corpus
  (``data.corpus``, its shipped held-out text ``data.heldout_text``, and ``data.everyday_text``, the
  everyday English added for continued pretraining, training only).
- ``cache`` (files computed once, keyed by a fingerprint of every weight), ``errors``.
- ``grading``: the autograder (instructors only).

Old module names (``spans``, ``span_heads``, ``wordnet``, ``tasks``, ``ner_data``, ``corpus``,
``heldout_text``, ``everyday_text``) still import: each is the renamed module itself. Importing the package puts the Hugging Face hub in offline mode unless
``CH11_SOURCE=hub``.
"""

from ch11lib import resources as resources  # noqa: F401  (sets offline mode first)
from ch11lib.errors import MissingResourceError

__all__ = ["MissingResourceError", "resources"]
__version__ = "0.1.0"
