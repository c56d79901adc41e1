"""Centralized port configuration for the REC.IO demo system.

The manifest is the primary source; DEFAULT_PORTS is the fallback used when
the manifest is missing or does not name the service.
"""

import json
import os

MANIFEST_PATH = os.path.join(os.path.dirname(__file__), "config", "MASTER_PORT_MANIFEST.json")

# Fallback ports: keep in step with MASTER_PORT_MANIFEST.json
DEFAULT_PORTS = {
    "main_app": 3000,
    "trade_manager": 4000,
    "trade_executor": 8001,
    "btc_price_watchdog": 8002,  # price feed heartbeat
    "db_poller": 8003,
}


def _manifest_ports():
    try:
        with open(MANIFEST_PATH, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return {}
    ports = {}
    for category in ("core_services", "watchdog_services"):
        for name, entry in manifest.get(category, {}).items():
            ports[name] = entry["port"]
    return ports


def get_port(service_name):
    """Return the port of service_name: manifest first, then DEFAULT_PORTS."""
    ports = _manifest_ports()
    if service_name in ports:
        return ports[service_name]
    if service_name in DEFAULT_PORTS:
        return DEFAULT_PORTS[service_name]
    raise KeyError(f"unknown service {service_name!r}: add it to the manifest and DEFAULT_PORTS")
