"""recover.*: the seed's EMERGENCY RECOVERY, scripted, stopping only what is provably ours."""

from __future__ import annotations

from invoke import Context, task
from portbook.recover import plan_recover, recover_system

from ._common import ROOT_HELP
from ._ops import run_op


@task(
    help={
        "root": ROOT_HELP,
        "check": "Change nothing: print what would be stopped and why.",
        "kill_foreign": "Also stop foreign processes holding a manifest port (else: refuse).",
        "json": "Print exactly one JSON object on stdout.",
        "wait": "Wait for another portbook run's lock instead of refusing.",
    }
)
def emergency(
    c: Context,
    root: str | None = None,
    check: bool = False,
    kill_foreign: bool = False,
    json: bool = False,
    wait: bool = False,
) -> None:
    """Stop supervisord and the system's strays, free its ports, check config, start, verify."""
    run_op(
        c,
        root,
        check,
        json,
        "recover",
        lambda t, s: plan_recover(t, s, kill_foreign=kill_foreign),
        lambda t, s, **kw: recover_system(t, s, kill_foreign=kill_foreign, wait=wait, **kw),
    )
