"""Detection: per-channel models behind one protocol, and the default scorer's parts.

``base`` (the ChannelModel and View protocols, Scored), ``factory`` (models by name),
``default`` (ChannelScorer: views calibrated and combined, rules, refractory) with ``config``,
one file per view (``hst_view``, ``forecast``, ``profile``), ``likelihood``, ``rules``,
``numeric``; ``hst`` (river's Half-Space Trees in numpy) and ``river`` (any river detector).
Import from the modules; this package file imports nothing, so loading one part loads no other.
"""
