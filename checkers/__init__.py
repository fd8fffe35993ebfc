"""The engines: explicit-state search (BFS, DFS), simulation, Hypothesis, conformance."""
