"""Which way a state lies from another: what "moving an agreement backwards" means.

A workflow has loops (``revise`` sends an agreement under evaluation back to ``verified``,
``return`` back to ``proposed``), so reachability alone says nothing. The order used here is
each state's distance from the initial state along the workflow's events (its step number
in the lifecycle): a record may move an agreement to a later step, never to an earlier one,
and never out of a final state.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache

from workflows.spec import WorkflowDefinition


@lru_cache(maxsize=64)
def _steps(defn_key: str, initial: str, edges: tuple[tuple[str, str], ...]) -> dict[str, int]:
    steps = {initial: 0}
    queue = deque([initial])
    while queue:
        state = queue.popleft()
        for source, dest in edges:
            if source == state and dest not in steps:
                steps[dest] = steps[state] + 1
                queue.append(dest)
    return steps


def step_of(defn: WorkflowDefinition, state: str) -> int:
    edges = tuple((s, e.dest) for e in defn.events for s in e.sources)
    return _steps(defn.key, defn.initial, edges).get(state, 0)


def moves_backwards(defn: WorkflowDefinition, stored: str, new: str) -> bool:
    """Whether putting an agreement that is in ``stored`` into ``new`` would rewind it."""
    if stored == new:
        return False
    if defn.has_state(stored) and defn.state(stored).final:
        return True
    return step_of(defn, new) < step_of(defn, stored)
