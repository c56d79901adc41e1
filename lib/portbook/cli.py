"""The ``portbook`` console script: the same tasks as ``invoke``, run from any folder.

Like Fabric's ``fab``, it adds a core ``-H/--hosts`` flag: ``portbook -H demo
service.add --name X`` runs the task on the inventory's ``demo`` group, as
``--hosts demo`` after the task name would.
"""

from __future__ import annotations

from invoke import Argument, Program

__all__ = ["PortbookProgram", "main", "program"]


class PortbookProgram(Program):
    """invoke's Program plus ``-H/--hosts`` and ``-I/--inventory`` (fleet config)."""

    def core_args(self) -> list[Argument]:
        """invoke's core flags, then the fleet's."""
        return [
            *super().core_args(),
            Argument(
                names=("hosts", "H"),
                help="Run the task on these inventory hosts or groups (comma-separated, or all).",
            ),
            Argument(
                names=("inventory", "I"),
                help="Inventory file for --hosts (portbook or Ansible YAML).",
            ),
        ]

    def update_config(self, merge: bool = True) -> None:
        """Put ``-H``/``-I`` into ``fleet.hosts``/``fleet.inventory`` (runtime overrides)."""
        fleet = {}
        if self.args.hosts.value:
            fleet["hosts"] = self.args.hosts.value
        if self.args.inventory.value:
            fleet["inventory"] = self.args.inventory.value
        super().update_config(merge=False)
        if fleet:
            # invoke replaced the overrides level just now; add ours to it
            self.config.load_overrides({**self.config._overrides, "fleet": fleet}, merge=False)
        if merge:
            self.config.merge()


def program() -> Program:
    """A portbook Program over portbook's namespace (playbooks)."""
    from importlib.metadata import PackageNotFoundError, version

    from playbooks import namespace

    try:
        current = version("portbook")
    except PackageNotFoundError:
        current = "dev"
    return PortbookProgram(
        namespace=namespace(), name="portbook", binary="portbook", version=current
    )


def main() -> None:
    """Entry point: ``portbook service.add --name X`` in the system's root."""
    program().run()
