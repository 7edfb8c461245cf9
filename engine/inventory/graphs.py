"""Workflow diagrams with transitions' diagram support: Graphviz (SVG, PNG, DOT) or Mermaid text.

States carry their Indonesian label and code; each edge names the event, its label and the
roles that may fire it. For an agreement, the states and transitions of its recorded history
are highlighted (blue) and its current state is marked (red).

What each format needs: ``.mmd`` (Mermaid) nothing; ``.dot`` the ``graphviz`` Python package;
``.svg`` and ``.png`` also Graphviz's ``dot`` program (Debian: ``apt-get install graphviz``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workflows.spec import WorkflowDefinition

from engine.store import db
from engine.context import Context
from engine.errors import ConfigurationError, InvalidInput, NotFound
from engine.i18n import _
from engine.store.tables import history

ROLE_LABELS = {"secretariat": "Sekretariat", "tkksd": "TKKSD", "chair": "Ketua TKKSD", "opd": "OPD pengampu",
               "system": "Sistem", "admin": "Admin"}
ROLE_LABELS_EN = {"secretariat": "Secretariat", "tkksd": "TKKSD", "chair": "TKKSD chair", "opd": "lead OPD",
                  "system": "System", "admin": "Admin"}


def role_label(role: str, lang: str) -> str:
    return (ROLE_LABELS_EN if lang == "en" else ROLE_LABELS).get(role, role)
FORMATS = {".svg": "graphviz", ".png": "graphviz", ".dot": "graphviz", ".mmd": "mermaid"}


class _Model:
    """The diagram's model: transitions keeps the 'current' state on it (never a real agreement)."""


def _state(machine_cls, name: str, label: str):
    """A state object carrying ``label``: the diagram markup reads it from the state."""
    state = machine_cls.state_cls(name)
    state.label = label
    return state


def _machine(defn: WorkflowDefinition, engine: str, current: str | None, lang: str):
    from transitions.extensions import GraphMachine

    labels = {s.name: f"{s.label.get(lang)} ({s.name})" if engine == "mermaid" else s.label.get(lang)
              for s in defn.states}
    transitions = []
    for e in defn.events:
        roles = ", ".join(role_label(r, lang) for r in e.roles)
        label = f"{e.name}: {e.label.get(lang)} [{roles}]"
        if engine == "graphviz" and len(label) > 40:  # two short lines keep labels off the neighbouring edges
            label = f"{e.name}: {e.label.get(lang)}\\n[{roles}]"
        transitions.append({"trigger": e.name, "source": list(e.sources), "dest": e.dest, "label": label})
    model = _Model()
    machine = GraphMachine(
        model=model, states=[_state(GraphMachine, name, label) for name, label in labels.items()], transitions=transitions, initial=current or defn.initial,
        auto_transitions=False, graph_engine=engine, title=f"{defn.label.get(lang)} (v{defn.version})",
        show_conditions=False, model_attribute="lifecycle_state",
    )
    # Final states drawn with a double border; the Indonesian labels may be long.
    styles = {k: dict(v) for k, v in machine.style_attributes.items()}
    styles["node"] = {k: dict(v) for k, v in styles["node"].items()}
    styles["node"]["final"] = {"color": "black", "fillcolor": "#eeeeee", "peripheries": "2"}
    styles["edge"] = {k: dict(v) for k, v in styles["edge"].items()}
    if engine == "graphviz":
        # Top to bottom, as the lifecycle reads, so the drawing fits A4 portrait; a sans font
        # everywhere (the title too, Graphviz's default is Times); labels kept apart from edges.
        machine.machine_attributes.update({
            "rankdir": "TB", "fontname": "DejaVu Sans", "fontsize": "16", "labelloc": "t", "nodesep": "0.5",
            "ranksep": "0.6", "splines": "true", "forcelabels": "true", "newrank": "true",
        })
        styles["node"]["default"]["fontname"] = "DejaVu Sans"
        styles["node"]["default"]["fontsize"] = "12"
        styles["edge"]["default"]["fontname"] = "DejaVu Sans"
        styles["edge"]["default"]["fontsize"] = "10"
    styles["edge"]["previous"] = {"color": "blue", "penwidth": "2.5", "fontcolor": "blue"}
    machine.style_attributes = styles
    return machine, model


def build(ctx: Context, defn: WorkflowDefinition, *, engine: str, current: str | None = None,
          path: list[tuple[str | None, str]] | None = None) -> Any:
    """A graph object (graphviz.Digraph, or a Mermaid text holder) for ``defn``."""
    machine, model = _machine(defn, engine, current, ctx.lang)
    graph = machine.model_graphs[id(model)]
    graph.reset_styling()
    for s in defn.states:
        if s.final:
            graph.set_node_style(s.name, "final")
    for src, dst in path or []:
        if src is not None and src != dst:
            graph.set_previous_transition(src, dst)
        elif src is not None:  # a self-loop (continue, extend, upgrade)
            graph.custom_styles["edge"][src][dst] = "previous"
    if current is not None:
        graph.set_node_style(current, "active")
    drawn = model.get_graph(title=machine.title)
    if engine == "graphviz":
        # transitions joins the events of one edge with " | " on one line; one event per line
        # keeps the drawing narrow enough for A4.
        drawn.body = [line.replace(" | ", "\\n") for line in drawn.body]
    return drawn


def implied_path(defn: WorkflowDefinition, state: str) -> list[tuple[str | None, str]]:
    """The steps an imported agreement must have taken to be in ``state``: the shortest way
    from the initial state along the workflow's events (an import records only its arrival)."""
    from collections import deque

    previous: dict[str, str | None] = {defn.initial: None}
    queue = deque([defn.initial])
    while queue:
        here = queue.popleft()
        for e in defn.events_from(here):
            if e.dest not in previous:
                previous[e.dest] = here
                queue.append(e.dest)
    if state not in previous:
        return []
    steps: list[tuple[str | None, str]] = []
    while previous[state] is not None:
        steps.append((previous[state], state))
        state = previous[state]
    return list(reversed(steps))


def _agreement(ctx: Context, ref: str):
    from engine.lifecycle.services import find_agreement

    with db.read(ctx.engine) as conn:
        row = find_agreement(conn, ref)
        steps = conn.execute(
            sa.select(history.c.from_state, history.c.to_state).where(history.c.agreement_id == row.id).order_by(history.c.seq)
        ).all()
    return row, [(s.from_state, s.to_state) for s in steps]


def draw(ctx: Context, output: str | Path, *, ref: str | None = None, workflow: str | None = None,
         version: int | None = None) -> Path:
    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInput(_("'{name}' must end in .svg, .png, .dot or .mmd.").format(name=output.name))
    engine = FORMATS[suffix]
    current = None
    path: list[tuple[str | None, str]] = []
    if ref:
        row, path = _agreement(ctx, ref)
        if workflow and workflow != row.workflow:
            raise InvalidInput(_("{ref} runs workflow {workflow}, not {asked}.").format(
                ref=row.number, workflow=row.workflow, asked=workflow))
        defn = ctx.registry.get(row.workflow, row.workflow_version)
        current = row.lifecycle_state
        if path and path[0][0] is None:  # created by an import: draw the steps the import implies
            path = implied_path(defn, path[0][1]) + path[1:]
    else:
        try:
            defn = ctx.registry.get(workflow or ("kerja-sama" if "kerja-sama" in ctx.registry.names() else ctx.registry.names()[0]), version)
        except LookupError as exc:
            raise NotFound(str(exc).strip("'\"") + ".") from None
    if engine == "graphviz":
        try:
            import graphviz  # noqa: F401
        except ImportError:
            raise ConfigurationError(_(
                "Drawing .svg/.png/.dot needs the Python package graphviz (pip install graphviz); .mmd needs nothing."
            )) from None
        if suffix != ".dot" and shutil.which("dot") is None:
            raise ConfigurationError(_(
                "Graphviz's dot program is not installed (Debian: apt-get install graphviz); "
                "write a Mermaid diagram with --output FILE.mmd instead."
            ))
    graph = build(ctx, defn, engine=engine, current=current, path=path)
    if engine == "mermaid":
        output.write_text(graph.source + "\n", encoding="utf-8")
    elif suffix == ".dot":
        output.write_text(graph.source, encoding="utf-8")
    else:
        output.write_bytes(graph.pipe(format=suffix[1:]))
    return output
