"""ch11lib: the companion library of the course "Fine-Tuning and Masked Language Models".

One module per idea of SLP3 chapter 11:

- ``resources``: one switch (``CH11_SOURCE``) that resolves every model and data set, offline by default
- ``wordnet``: WordNet 3.0 through NLTK, from NLTK data or Debian's packages
- ``encoder``: a readable bidirectional transformer encoder that loads real BERT weights

Importing the package puts the Hugging Face hub in offline mode unless ``CH11_SOURCE=hub``.
"""

from ch11lib import resources as resources  # noqa: F401  (sets offline mode first)
from ch11lib.errors import MissingResourceError

__all__ = ["MissingResourceError", "resources"]
__version__ = "0.1.0"
