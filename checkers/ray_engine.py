"""Beyond one machine: ``--engine ray`` (issue 13, item 6).

Two uses of a Ray cluster (or of a local Ray instance, when no address is given):

* ``RayShards``, a transport for ``checkers.parallel``'s partitioned BFS: each shard is a Ray
  actor that owns its share of the visited set, as TLC's distributed mode gives each
  fingerprint server a share of the fingerprints; the coordinator stays in this process.
* ``run_tasks``, which ``checkers.simulate`` uses to run independent batches of random walks as
  Ray tasks, one per CPU of the cluster.

Why it is built the way it is:

* An actor does not fork from the coordinator, so it builds its shard itself from a
  ``ShardRecipe`` (the model by name and parameters): a model file must therefore be at the same
  absolute path on every node, and every node needs the same kripke.
* Batches cross as ``Wire`` bytes. A typed model's state records are classes generated from its
  declarations, which pickle cannot find by name; Ray's cloudpickle pickles such a class *by
  value* (two-phase's ``State`` with one state: 6.5 KB against ``Wire``'s 28 bytes), and in
  another process that makes a new class, not the one the receiving actor's model built, so
  its type checks would reject every state it is sent. ``Wire`` names each class by its number
  in the model's declaration order, the same in every process.
* Offers, wants and batches go from actor to actor as Ray objects: *expand*, *wanted* and
  *give* return one object per shard (``num_returns``) and the next phase takes the ones meant
  for it as arguments, so the coordinator handles references, not states. It waits for each
  shard's slot for itself of *expand* (always empty), which is also where an exception raised
  in *expand* surfaces, and for the reports of *admit*.
* A Ray actor runs one method at a time; ``interrupt`` runs in a concurrency group of its own, so
  it can set the flag that *expand* polls (every 256 states) while *expand* runs: Ctrl-C, or a
  checkpoint that is due, stops the shards between states, as with the worker processes of
  ``--workers``.
* An exception raised in an actor or task reaches the caller as the same exception
  (``RayTaskError.cause``): a ``KripkeError`` stays one line and exit code 2, and
  ``checkers.explicit._SymmetryBroken`` still makes ``check`` search again without symmetry.

A local instance that this module starts stays up until the process exits (``ray.shutdown()``
ends it earlier), so that a search run again (without symmetry, say) does not pay Ray's start-up
of several seconds twice.
"""

import gc
import logging
import os

from kripke.checkers.frontier import MemoryBudget
from kripke.checkers.parallel import _first_known
from kripke.checkers.wire import Wire
from kripke.errors import ParamError

__all__ = ["RayShards", "absolute_spec", "cluster_cpus", "run_tasks"]


def _ray(address):
    """The ``ray`` module, connected: to the cluster at ``address``, or, when ``address`` is
    None, to the one ``RAY_ADDRESS`` or a ``ray start`` on this machine names, else to a new
    local instance (``ray.init``'s own rules). Ray already initialised by the caller is used as
    it is."""
    try:
        import ray
    except ImportError:
        raise ParamError("--engine ray needs Ray, an optional extra: "
                         "pip install 'kripke[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, logging_level=logging.ERROR, include_dashboard=False,
                 ignore_reinit_error=True)
    return ray


def cluster_cpus(address=None):
    """The number of CPUs of the Ray cluster at ``address`` (see ``_ray``)."""
    return int(_ray(address).cluster_resources().get("CPU", 0))


def _get(ray, refs):
    """``ray.get`` of one reference or a list, raising an actor's or task's exception as
    itself (of a list, the first one's, after every result is in: Ray logs an error that is
    never fetched as "unhandled")."""
    if not isinstance(refs, list):
        return _get(ray, [refs])[0]
    results, error = [], None
    for ref in refs:
        try:
            results.append(ray.get(ref))
        except ray.exceptions.RayTaskError as e:
            error = error or e.cause
        except ray.exceptions.RayActorError as e:
            error = error or RuntimeError(f"a kripke Ray actor died (out of memory?): {e}")
        except ray.exceptions.RayError as e:  # e.g. an exception that cannot be unpickled
            error = error or e
    if error is not None:
        raise error
    return results


def absolute_spec(spec):
    """A ``path/file.py:Class`` model spec with an absolute path (an actor's working directory
    is not the coordinator's); a registered name as it is."""
    path, sep, cls = spec.rpartition(":")
    if sep and path.endswith(".py") and not os.path.isabs(path):
        return f"{os.path.abspath(path)}:{cls}"
    return spec


class _ShardActor:
    """One shard in a Ray actor (see ``RayShards``). The shard is built by ``start`` or
    ``restore``, so that an error in loading the model reaches the coordinator as itself."""

    def __init__(self, recipe, index, count):
        # As in the search (explicit.paused_gc) and the worker processes: the collector would
        # walk every stored state on each full collection. The actor's process is its own
        # and ends with it.
        gc.disable()
        self.recipe, self.index, self.count = recipe, index, count
        self.shard = self.wire = None
        self.stop = -1  # the number of the step asked to stop between states

    def node(self):
        import ray
        return ray.get_runtime_context().get_node_id()

    def _build(self, neighbours):
        """The shard; without a memory limit, its budget is its share of what this node has
        (``neighbours``: the shards on it), not of the coordinator's machine."""
        recipe = self.recipe
        if recipe.memory_limit is None:
            total = MemoryBudget(None).limit
            recipe = recipe._replace(memory_limit=total and total // neighbours)
        self.shard = recipe.build(self.index, self.count)
        self.wire = Wire(self.shard.model)
        return self.shard

    def start(self, neighbours):
        return self._build(neighbours).start()

    def restore(self, files, neighbours):
        return self._build(neighbours).restore(files)

    def snapshot(self):
        return self.shard.snapshot()

    def _out(self, values):
        """``values[k]`` for each shard ``k`` as ``Wire`` bytes, None in this shard's own
        slot: the objects of ``num_returns``."""
        out = [None if k == self.index else self.wire.dumps(v) for k, v in enumerate(values)]
        return out[0] if self.count == 1 else tuple(out)

    def _in(self, values):
        """What the other shards sent (``_out``), in their order, with nothing from this one."""
        values = [self.wire.loads(v) for v in values]
        values.insert(self.index, [])
        return values

    def expand(self, new_level, step):
        return self._out(self.shard.expand(lambda: self.stop == step, new_level))

    def wanted(self, *offers):
        return self._out(self.shard.wanted(self._in(offers)))

    def give(self, *wants):
        return self._out(self.shard.give(self._in(wants)))

    def admit(self, depth, *batches):
        return self.shard.admit(self._in(batches), depth)

    def parent(self, fp):
        return self.shard.parent(fp)

    def interrupt(self, step):
        """Stop *expand* of step ``step`` between states (numbered, so that a request that
        arrives late cannot stop the next one)."""
        self.stop = step

    def close(self):
        if self.shard is not None:
            self.shard.close()


class RayShards:
    """``checkers.parallel``'s transport with one Ray actor per shard: ``workers`` of them (None
    or 0: one per CPU of the cluster), each holding ``recipe.build(k, workers)``, spread over
    the cluster's nodes, one CPU each. A recipe without a memory limit gives each shard its
    share of its own node's memory (the nodes of a cluster need not be alike, nor like the
    coordinator's machine)."""

    def __init__(self, recipe, workers, address=None):
        ray = self.ray = _ray(address)
        cpus = int(ray.cluster_resources().get("CPU", 0))
        count = workers or cpus
        if count > cpus:  # an actor that needs a CPU nobody has would wait for ever
            raise ParamError(f"--workers {count}: the Ray cluster has {cpus} CPUs; ask for at "
                             f"most {cpus} (or leave --workers out: one shard per CPU)")
        recipe = recipe._replace(model=absolute_spec(recipe.model))
        actor = ray.remote(num_cpus=1, scheduling_strategy="SPREAD",
                           concurrency_groups={"interrupt": 1})(_ShardActor)
        self.count, self.steps = count, 0
        self.actors = [actor.remote(recipe, k, count) for k in range(count)]
        nodes = _get(ray, [a.node.remote() for a in self.actors])
        self.neighbours = [nodes.count(node) for node in nodes]

    def start(self):
        return _get(self.ray, [a.start.remote(n) for a, n in zip(self.actors, self.neighbours)])

    def restore(self, files):
        return _get(self.ray, [a.restore.remote(f, n)
                               for a, f, n in zip(self.actors, files, self.neighbours)])

    def snapshot(self):
        return _get(self.ray, [a.snapshot.remote() for a in self.actors])

    def step(self, depth, new_level, interrupted):
        ray, n = self.ray, self.count
        self.steps += 1
        outs = [a.expand.options(num_returns=n).remote(new_level, self.steps)
                for a in self.actors]
        if n == 1:
            outs = [[outs[0]]]
        own = [outs[k][k] for k in range(n)]
        waiting, told = own, False
        while waiting:
            if not told and interrupted():
                told = True
                for a in self.actors:
                    a.interrupt.options(concurrency_group="interrupt").remote(self.steps)
            _, waiting = ray.wait(waiting, num_returns=len(waiting), timeout=0.2)
        _get(ray, own)  # raises what an expand raised, before anything else runs

        def to(k, outs):  # what the other shards' phase returned for shard k
            return (outs[i][k] for i in range(n) if i != k)

        def phase(method, outs):
            refs = [getattr(a, method).options(num_returns=n).remote(*to(k, outs))
                    for k, a in enumerate(self.actors)]
            return refs if n > 1 else [[refs[0]]]

        outs = phase("give", phase("wanted", outs))
        return _get(ray, [a.admit.remote(depth, *to(k, outs)) for k, a in enumerate(self.actors)])

    def parent(self, fp):
        return _first_known(_get(self.ray, a.parent.remote(fp)) for a in self.actors)

    def close(self):
        """Let each shard delete its spill files, then end the actors (a second call does
        nothing)."""
        actors, self.actors = self.actors, []
        if actors:
            self.ray.wait([a.close.remote() for a in actors], num_returns=len(actors),
                          timeout=10)
        for a in actors:
            self.ray.kill(a)


def run_tasks(fn, arguments, address=None):
    """``[fn(*args) for args in arguments]``, each call a Ray task on the cluster at
    ``address`` (one CPU each), in order; an exception raised in a task is raised here as
    itself."""
    ray = _ray(address)
    task = ray.remote(fn).options(num_cpus=1, max_retries=0)
    return _get(ray, [task.remote(*args) for args in arguments])
