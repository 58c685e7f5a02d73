"""Architecture search behind one ask/tell loop: random search, regularized evolution, local search, and searches
guided by a performance predictor refit on every queried label (``list_searchers()``)."""

from fgp.search.base import SearchAlgorithm, SearchExhausted, create_searcher, list_searchers, register_searcher

# importing the algorithm modules registers them
from fgp.search import algorithms, predictive  # noqa: E402,F401  isort: skip
from fgp.search.objective import BenchmarkObjective, CallableObjective  # noqa: E402  isort: skip
from fgp.search.run import Trial, read_search, run_searches, run_trial, search, search_table  # noqa: E402  isort: skip

__all__ = [
    "BenchmarkObjective",
    "CallableObjective",
    "SearchAlgorithm",
    "SearchExhausted",
    "Trial",
    "create_searcher",
    "list_searchers",
    "read_search",
    "register_searcher",
    "run_searches",
    "run_trial",
    "search",
    "search_table",
]
