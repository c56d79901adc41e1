"""REC.IO demo service: trade_executor."""

import uvicorn

from backend.core.health import health_app
from backend.core.port_config import get_port

SERVICE_PORT = get_port("trade_executor")
app = health_app("trade_executor")

if __name__ == "__main__":
    print(f"[trade_executor] using centralized port: {SERVICE_PORT}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=SERVICE_PORT, log_level="warning")
