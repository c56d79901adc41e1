"""strays and daemon: what proves a process is the system's, and finding its supervisord."""

from __future__ import annotations

from portbook.host.daemon import find_daemon, is_system_supervisord, pidfile_path
from portbook.host.strays import describe, is_ours, mask_argv, scan_strays
from portbook.registry.system import System, read_system
from portbook.target import ProcInfo
from portbook.target.fake import FakeTarget

from .conftest import ROOT
from .ops_support import PIDFILE, SOCKET, URL, FakeDaemon, fast_settings, make_consistent


def _system(target: FakeTarget) -> System:
    return read_system(target, fast_settings())


def _ours(target: FakeTarget, recorded: dict[int, float] | None = None) -> dict[int, str]:
    scan = scan_strays(target, _system(target), recorded)
    return {p.info.pid: p.reason for p in scan.ours}


def test_a_port_holder_with_its_cwd_inside_the_root_is_ours() -> None:
    target = make_consistent()
    target.add_process(300, ["python", "x.py"], cwd=f"{ROOT}/backend")
    target.listen(8001, 300)
    assert "cwd /srv/recio/backend is inside the root" in _ours(target)[300]


def test_a_port_holder_running_a_script_inside_the_root_is_ours() -> None:
    target = make_consistent()
    target.add_process(300, ["/usr/bin/python3", f"{ROOT}/backend/api/main_app.py"], cwd="/")
    target.listen(8001, 300)
    assert f"runs {ROOT}/backend/api/main_app.py" in _ours(target)[300]


def test_a_process_sitting_in_the_root_without_a_port_or_a_stamp_is_left_alone() -> None:
    target = make_consistent()
    target.add_process(300, ["bash"], cwd=ROOT)  # the operator's shell
    assert _ours(target) == {}


def test_an_http_server_serving_the_root_from_outside_is_foreign() -> None:
    target = make_consistent()
    argv = ["python3", "-m", "http.server", "8001", "--directory", ROOT]
    target.add_process(300, argv, cwd="/", user="alice")
    target.listen(8001, 300)
    scan = scan_strays(target, _system(target))
    assert scan.ours == []
    assert [h.line() for h in scan.foreign] == [
        f"port 8001 (main_app) is held by pid 300 (alice): python3 -m http.server 8001 "
        f"--directory {ROOT}, not the system's"
    ]


def test_supervisords_environment_stamp_proves_an_orphan_without_a_port() -> None:
    target = make_consistent()
    target.add_process(300, ["/usr/bin/worker"], cwd="/var/tmp")
    target.process_env[300] = {"SUPERVISOR_SERVER_URL": URL, "SUPERVISOR_PROCESS_NAME": "w"}
    scan = scan_strays(target, _system(target))
    assert [p.info.pid for p in scan.ours] == [300] and scan.ours[0].program == "w"


def test_a_recorded_pid_is_ours_only_with_the_same_start_time() -> None:
    target = make_consistent()
    target.add_process(300, ["/usr/bin/worker"], cwd="/", started=1000.0)
    assert 300 in _ours(target, {300: 1000.0})
    assert _ours(target, {300: 2000.0}) == {}  # the pid was reused


def test_children_of_a_proven_process_are_ours_too() -> None:
    target = make_consistent()
    target.add_process(300, ["python", "x.py"], cwd=ROOT)
    target.listen(8001, 300)
    target.add_process(301, ["python", "worker"], ppid=300, cwd="/")
    assert "a child of pid 300" in _ours(target)[301]


def test_portbooks_own_chain_and_pid_1_are_never_ours() -> None:
    target = make_consistent()
    target.add_process(300, ["python", "-m", "playbooks"], cwd=ROOT)
    target.listen(8001, 300)
    target.own = {300}
    target.add_process(1, ["init"], cwd="/")
    target.listen(8005, 1)
    scan = scan_strays(target, _system(target))
    assert scan.ours == []
    assert [(h.port, h.info) for h in scan.foreign] == [(8005, target.processes[1])]


def test_an_unknown_holder_pid_is_reported_as_not_visible() -> None:
    target = make_consistent()
    target.listen(8005, 0)
    scan = scan_strays(target, _system(target))
    assert "a process whose pid is not visible" in scan.foreign[0].line()


def test_is_ours_keeps_its_contract() -> None:
    info = ProcInfo(1, 0, ("python", f"{ROOT}/app.py"), "/", "app", 0.0)
    assert is_ours(info, ROOT)
    assert not is_ours(ProcInfo(1, 0, ("python", "/opt/app.py"), "/srv/recio2", "app", 0.0), ROOT)


def test_secret_looking_arguments_are_masked() -> None:
    argv = ["redis-server", "--requirepass", "hunter2", "--api-token=abc", "--port", "8050"]
    assert mask_argv(argv) == "redis-server --requirepass *** --api-token=*** --port 8050"
    info = ProcInfo(7, 1, ("app", "postgres://u:pw@db/x"), "/", "bob", 0.0)
    assert describe(info) == "pid 7 (bob): app postgres://u:***@db/x"


def test_find_daemon_answering_on_its_socket() -> None:
    target = make_consistent()
    FakeDaemon(target).up()
    daemon = find_daemon(target, _system(target))
    assert daemon.info is not None and daemon.info.pid == 99
    assert daemon.answers and daemon.stale == ()


def test_find_daemon_dead_leaves_its_socket_and_pidfile_stale() -> None:
    target = make_consistent()
    fake = FakeDaemon(target)
    fake.up()
    fake.die()
    daemon = find_daemon(target, _system(target))
    assert daemon.info is None and daemon.stale == (SOCKET, PIDFILE)


def test_find_daemon_wedged_is_found_by_its_pidfile_and_its_socket_is_not_stale() -> None:
    target = make_consistent()
    fake = FakeDaemon(target)
    fake.up(conf_arg="backend/supervisord.conf")
    target.rpc_handler = None  # it stopped answering
    daemon = find_daemon(target, _system(target))
    assert daemon.info is not None and daemon.info.pid == 99 and not daemon.answers
    assert daemon.stale == ()


def test_find_daemon_by_scan_when_the_pidfile_names_another_process() -> None:
    target = make_consistent()
    fake = FakeDaemon(target)
    fake.up()
    target.rpc_handler = None
    target.put(PIDFILE, "12345\n")
    target.add_process(12345, ["sleep", "100"])
    daemon = find_daemon(target, _system(target))
    assert daemon.info is not None and daemon.info.pid == 99
    assert daemon.stale == (PIDFILE,)


def test_a_supervisord_of_another_conf_is_not_the_systems() -> None:
    target = make_consistent()
    system = _system(target)
    other = ProcInfo(5, 1, ("supervisord", "-c", "/etc/supervisord.conf"), "/", "root", 0.0)
    mine = ProcInfo(6, 1, ("supervisord", "-c", "backend/supervisord.conf"), ROOT, "root", 0.0)
    assert not is_system_supervisord(other, system) and is_system_supervisord(mine, system)
    assert pidfile_path(system) == PIDFILE


def test_a_relative_conf_elsewhere_is_not_the_systems_even_with_the_same_relative_path() -> None:
    target = make_consistent()
    system = _system(target)
    argv = ("python", "-m", "supervisor.supervisord", "-c", "backend/supervisord.conf")
    elsewhere = ProcInfo(7, 1, argv, "/tmp/portbook-demo", "root", 0.0)
    unknown_cwd = ProcInfo(8, 1, argv, None, "root", 0.0)
    assert not is_system_supervisord(elsewhere, system)
    assert not is_system_supervisord(unknown_cwd, system)
    assert is_system_supervisord(unknown_cwd, system, named_by_pidfile=True)
