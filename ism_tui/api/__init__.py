"""The Console API: the contract's client, wire models and list-page decoding."""

import sys

# Importing httpx imports its command line too (click, rich, pygments: a good part of a sync's
# start-up), for an ``httpx`` console script this program never runs. An import blocked by a
# None entry fails at once, and httpx expects that (it then defines a stub that says what to
# install). No effect where httpx was imported already.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
