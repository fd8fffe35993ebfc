"""Counterexamples: the trace JSON format, replay, and drawings (Graphviz, HTML)."""
