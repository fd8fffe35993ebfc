"""A plain breadth-first search over plain values, written apart from kripke's engine."""

from collections import deque


def bfs(init, succ):
    """(distinct, generated, depth, states), TLC's way: the initial state at level 1, every
    successor counted as generated."""
    level = {init: 1}
    queue = deque([init])
    generated = 1
    while queue:
        s = queue.popleft()
        for t in succ(s):
            generated += 1
            if t not in level:
                level[t] = level[s] + 1
                queue.append(t)
    return len(level), generated, max(level.values()), list(level)
