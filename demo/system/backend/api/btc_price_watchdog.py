"""REC.IO demo service: btc_price_watchdog."""

import uvicorn

from backend.core.health import health_app
from backend.core.port_config import get_port

SERVICE_PORT = get_port("btc_price_watchdog")
app = health_app("btc_price_watchdog")

if __name__ == "__main__":
    print(f"[btc_price_watchdog] using centralized port: {SERVICE_PORT}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=SERVICE_PORT, log_level="warning")
