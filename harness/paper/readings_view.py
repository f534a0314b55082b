"""`harness readings`: every declared passage of the paper with its quote, choices, tags and default,
as text (or JSON). Needs no dataset and no torch."""
from __future__ import annotations

import textwrap
from typing import Any

from harness.paper.readings import PASSAGES, TAGS


def as_json() -> list[dict[str, Any]]:
    return [{"name": p.name, "where": p.where, "quote": p.quote, "key": p.key, "default": p.literal.value,
             "why": p.why, "choices": [{"value": c.value, "tag": c.tag, "meaning": c.meaning,
                                        "params": list(c.params)} for c in p.choices]} for p in PASSAGES]


def as_text(width: int = 100) -> str:
    lines = textwrap.wrap(f"{len(PASSAGES)} passages of the paper admit several readings; each choice is a "
                          f"config value, tagged {', '.join(TAGS)}. The default (*) is the literal one.", width)
    lines.append("")
    for p in PASSAGES:
        lines.append(f"{p.name}  ({p.where})  key: {p.key}")
        lines += textwrap.wrap(f'"{p.quote}"', width, initial_indent="  ", subsequent_indent="   ")
        for c in p.choices:
            mark = "*" if c is p.literal else " "
            params = f" [reads {', '.join(c.params)}]" if c.params else ""
            head = f"  {mark} {c.value!s:15} {c.tag:17} "
            lines += textwrap.wrap(c.meaning + params, width, initial_indent=head,
                                   subsequent_indent=" " * len(head))
        lines += textwrap.wrap("why: " + p.why, width, initial_indent="  ", subsequent_indent="  ")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
