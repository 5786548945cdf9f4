"""Draw a chart: Mermaid state diagrams, Graphviz dot source, and the Markdown page for docs/.

Everything here is text generation from the chart's own data, so a diagram
cannot drift from the behaviour; rendering dot to SVG needs Graphviz and is the
command line's business (chargebox.cli.diagram).

Edges carry "label trigger [guard]"; an `unless` guard is written "not guard".
Internal transitions (no state change) are listed in a note on their state.
"""

from __future__ import annotations

from chargebox.charts.spec import ChartSpec, TransitionSpec


def edge_text(t: TransitionSpec) -> str:
    """The text on an edge: label, trigger and guards."""
    guards = [*t.conditions, *(f"not {name}" for name in t.unless)]
    text = f"{t.label} {t.trigger}"
    if guards:
        text += " [" + ", ".join(guards) + "]"
    return text


def internal_text(t: TransitionSpec) -> str:
    """How an internal transition is listed on its state: edge text plus its actions."""
    actions = t.actions
    return edge_text(t) + (" / " + ", ".join(actions) if actions else "")


def _internal_by_state(spec: ChartSpec) -> dict[str, list[TransitionSpec]]:
    found: dict[str, list[TransitionSpec]] = {}
    for t in spec.transitions:
        if t.internal:
            for source in t.sources:
                found.setdefault(source, []).append(t)
    return found


def mermaid(spec: ChartSpec) -> str:
    """A Mermaid stateDiagram-v2 of the chart."""
    lines = ["stateDiagram-v2", f"    [*] --> {spec.initial}"]
    for t in spec.transitions:
        if t.internal:
            continue
        for source in t.sources:
            lines.append(f"    {source} --> {t.dest}: {edge_text(t)}")
    for state, internal in _internal_by_state(spec).items():
        lines.append(f"    note right of {state}")
        lines.extend(f"        {internal_text(t)}" for t in internal)
        lines.append("    end note")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(spec: ChartSpec) -> str:
    """Graphviz dot source of the chart (render with `dot -Tsvg`)."""
    internal = _internal_by_state(spec)
    lines = [
        f"digraph {_dot_quote(spec.name)} {{",
        f"    graph [rankdir=LR, labelloc=t, fontname=Helvetica, label={_dot_quote(spec.name)}];",
        "    node [shape=box, style=rounded, fontname=Helvetica];",
        "    edge [fontname=Helvetica, fontsize=10];",
        '    "[*]" [shape=point, width=0.15, label=""];',
        f'    "[*]" -> {_dot_quote(spec.initial)};',
    ]
    for state in spec.states:
        label = state.name
        if state.name in internal:
            # \l ends a left-aligned line in a Graphviz label.
            rows = "".join(internal_text(t) + "\\l" for t in internal[state.name])
            label = f"{state.name}\\n\\n{rows}"
        quoted = '"' + label.replace('"', '\\"') + '"'
        lines.append(f"    {_dot_quote(state.name)} [label={quoted}];")
    for t in spec.transitions:
        if t.internal:
            continue
        for source in t.sources:
            lines.append(
                f"    {_dot_quote(source)} -> {_dot_quote(t.dest or source)} "
                f"[label={_dot_quote(edge_text(t))}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def markdown_page(spec: ChartSpec, *, source_link: str) -> str:
    """The docs page of one chart: description, Mermaid diagram and the chart's tables."""
    out = [
        f"# Statechart `{spec.name}`",
        "",
        "<!-- Generated from the chart file by `chargebox diagram --out docs/statecharts`."
        " Do not edit: edit the chart and regenerate. -->",
        "",
        spec.description,
        "",
        f"Chart file: [{source_link.rsplit('/', 1)[-1]}]({source_link}); model class "
        f"`{spec.model}`; initial state `{spec.initial}`"
        + (f"; on entering any state: {_names(spec.on_enter)}" if spec.on_enter else "")
        + ".",
        "",
        *(
            [
                f"After every event that changes it, the actor tells `{spec.reports.to}` "
                f"`{spec.reports.trigger}`: {spec.reports.description.strip()}",
                "",
            ]
            if spec.reports
            else []
        ),
        "```mermaid",
        mermaid(spec).rstrip("\n"),
        "```",
        "",
        "## States",
        "",
    ]
    if any(s.on_enter or s.on_exit for s in spec.states):
        out += ["| State | Meaning | On entry | On exit |", "|---|---|---|---|"]
        out += [
            f"| `{s.name}` | {_cell(s.description)} | {_names(s.on_enter)} | {_names(s.on_exit)} |"
            for s in spec.states
        ]
    else:
        out += ["| State | Meaning |", "|---|---|"]
        out += [f"| `{s.name}` | {_cell(s.description)} |" for s in spec.states]
    out += ["", "## Triggers", "", "| Trigger | From | Meaning | Parameters |", "|---|---|---|---|"]
    for trig in spec.triggers:
        params = "; ".join(f"`{k}`: {v}" for k, v in trig.params.items())
        out.append(
            f"| `{trig.name}` | {trig.origin} | {_cell(trig.description)} | {_cell(params)} |"
        )
    if spec.inputs:
        out += ["", "## Inputs", "", "| Input | Meaning |", "|---|---|"]
        out += [f"| `{name}` | {_cell(text)} |" for name, text in spec.inputs.items()]
    out += [
        "",
        "## Transitions",
        "",
        "| Label | Trigger | From | To | Guard | Actions | Meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in spec.transitions:
        guard = ", ".join([*t.conditions, *(f"not {n}" for n in t.unless)])
        actions = ", ".join([*(f"{n} (before)" for n in t.before), *t.after])
        to = "(internal)" if t.internal else f"`{t.dest}`"
        out.append(
            f"| {t.label} | `{t.trigger}` | {', '.join(t.sources)} | {to} | {_cell(guard)} | "
            f"{_cell(actions)} | {_cell(t.description)} |"
        )
    return "\n".join(out) + "\n"
