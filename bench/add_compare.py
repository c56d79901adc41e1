"""The side-by-side half of ``bench/add.py``'s section, and the section as a whole.

portbook against Ansible and the restart script: wall times, their ratio, and the
downtime every other service saw. Every verdict is computed from the attempts, with its
opposite for when the data says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from _common import DEMO_SERVICES, median
from _stamp import Stamp
from add_report import LABELS, Attempt, header, ms, of, portbook_tables

__all__ = ["docs_body", "side_by_side"]


def side_by_side(attempts: Sequence[Attempt], runs: int) -> list[str]:
    """One row per method: wall, ratio to portbook, the others' downtime, pids kept."""
    mine = median([a.wall for a in of(attempts, "portbook")])
    out = [
        "### Side by side: portbook, Ansible, the restart script",
        "",
        "| method | ok attempts | wall median s | max s | wall / portbook's | longest gap any "
        "other service saw, median s | max s | refused probes | other programs' pids kept |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for method, label in LABELS.items():
        ok = of(attempts, method)
        if not ok:
            out.append(f"| {label} | 0/{runs} | - | - | - | - | - | - | - |")
            continue
        wall = median([a.wall for a in ok])
        out.append(
            f"| {label} | {len(ok)}/{runs} | {ms([a.wall for a in ok])} | {wall / mine:.2f}x "
            f"| {ms([a.longest for a in ok])} | {sum(a.refused for a in ok)} "
            f"| {sum(a.others_kept for a in ok)}/{len(ok)} |"
        )
    return [*out, "", *comparison_sentences(attempts), "", *per_service(attempts)]


def comparison_sentences(attempts: Sequence[Attempt]) -> list[str]:
    """The portbook / Ansible ratio, then what each method cost the other services."""
    mine, theirs = of(attempts, "portbook"), of(attempts, "ansible")
    out = []
    if mine and theirs:
        a, b = median([x.wall for x in mine]), median([x.wall for x in theirs])
        noop = median([x.noop for x in theirs])
        out.append(
            f"**portbook / Ansible: {a / b:.2f}** (median walls, {a:.2f} s against {b:.2f} s): "
            + (
                f"portbook was faster by {b - a:.2f} s."
                if a < b
                else f"portbook was slower by {a - b:.2f} s."
            )
            + f" Of Ansible's time, {noop:.2f} s (median) is `ansible-playbook` running a play "
            "with no tasks on the same copy."
        )
    else:
        failed = [x for x in attempts if x.method in ("portbook", "ansible") and not x.ok]
        why = "; ".join(f"{x.method} round {x.index}: {x.error}" for x in failed[:3])
        out.append(f"portbook / Ansible: not measured: no successful attempt of both ({why}).")
    for method, label in LABELS.items():
        ok = of(attempts, method)
        if ok:
            out.append(downtime_sentence(label, ok))
    return [" ".join(out)]


def downtime_sentence(label: str, ok: Sequence[Attempt]) -> str:
    """Whether the other services stayed reachable while ``label`` ran, from the probes."""
    probes = sum(r.attempts for a in ok for r in a.probes.values())
    hit = [a for a in ok if a.refused]
    if not hit:
        return (
            f"During {label}'s ADD no other service refused a connection "
            f"({probes} probes in {len(ok)} attempt(s))."
        )
    worst = max(a.longest for a in ok)
    return (
        f"During {label}'s ADD other services refused connections in {len(hit)} of {len(ok)} "
        f"attempt(s): the longest gap was {worst:.2f} s (median of each attempt's longest "
        f"{median([a.longest for a in ok]):.2f} s)."
    )


def per_service(attempts: Sequence[Attempt]) -> list[str]:
    """Each other service's longest refused stretch under each method: median | max s."""
    methods = [m for m in LABELS if of(attempts, m)]
    out = [
        "| other service | "
        + " | ".join(f"{LABELS[m]}: longest gap median s | max s" for m in methods)
        + " |",
        "| --- |" + " ---: | ---: |" * len(methods),
    ]
    for service in DEMO_SERVICES:
        cells = [
            ms([a.probes[service].longest for a in of(attempts, m) if service in a.probes])
            for m in methods
        ]
        out.append(f"| {service} | " + " | ".join(cells) + " |")
    return out


def docs_body(attempts: Sequence[Attempt], stamp: Stamp, runs: int, base: int) -> str:
    """The markdown for the ``service.add`` section of docs/benchmarks.md."""
    out = header(stamp, runs, base)
    mine = of(attempts, "portbook")
    if mine:
        out += portbook_tables(mine)
        kept = sum(a.others_kept for a in mine)
        out += ["", f"Other programs' pids unchanged after portbook's add: {kept} of {len(mine)}."]
    else:
        out.append("### portbook\n\nNo portbook attempt succeeded.")
    out += ["", *side_by_side(attempts, runs)]
    failed = [a for a in attempts if not a.ok]
    if failed:
        out += ["", "Failed attempts:"]
        out += [f"- round {a.index}, {LABELS[a.method]}: {a.error}" for a in failed]
    return "\n".join(out)
