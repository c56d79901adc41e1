"""REC.IO demo service: main_app."""

import uvicorn

from backend.core.health import health_app
from backend.core.port_config import get_port

SERVICE_PORT = get_port("main_app")
app = health_app("main_app")

if __name__ == "__main__":
    print(f"[main_app] using centralized port: {SERVICE_PORT}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=SERVICE_PORT, log_level="warning")
