"""REC.IO demo service: trade_manager."""

import uvicorn

from backend.core.health import health_app
from backend.core.port_config import get_port

SERVICE_PORT = get_port("trade_manager")
app = health_app("trade_manager")

if __name__ == "__main__":
    print(f"[trade_manager] using centralized port: {SERVICE_PORT}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=SERVICE_PORT, log_level="warning")
