"""Random real-time orders for the random histories of the consistency tests."""


def random_timing(rng, sessions):
    """When operations run: ``sessions[i]`` is the session of operation ``i`` (a session's
    operations run in order, one at a time); invocations and completions of the sessions are
    interleaved at random, and each session's last operation is left pending one time in four.
    Returns ``({op: invoked}, {op: completed or None})``, times being positions in one order."""
    queue = {}
    for i, s in enumerate(sessions):
        queue.setdefault(s, []).append(i)
    pending = {q[-1] for q in queue.values() if rng.random() < 0.25}
    invoked, completed, t = {}, {}, 0
    while any(queue.values()):
        i = queue[rng.choice(sorted(s for s, q in queue.items() if q))][0]
        if i not in invoked:
            invoked[i] = t
        else:
            completed[i] = None if i in pending else t
            queue[sessions[i]].pop(0)
        t += 1
    return invoked, completed
