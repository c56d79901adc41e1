"""portbook's operator-facing tasks: the seed manual's procedures as invoke task modules."""

from __future__ import annotations

from invoke import Collection
from portbook.config import DEFAULTS
from portbook.fleet.run import FLEET_DEFAULTS

from . import demo, doctor, recover, service, supervisor

__all__ = ["namespace"]


def namespace() -> Collection:
    """The task tree shared by ``invoke`` (tasks.py) and the ``portbook`` console script."""
    ns = Collection()
    ns.add_collection(Collection.from_module(service))
    ns.add_collection(Collection.from_module(demo))
    ns.add_collection(Collection.from_module(supervisor))
    ns.add_collection(Collection.from_module(recover))
    ns.add_task(doctor.doctor)
    ns.configure({"portbook": dict(DEFAULTS), "fleet": dict(FLEET_DEFAULTS)})
    return ns
