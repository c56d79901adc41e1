"""REC.IO demo service: db_poller."""

import uvicorn

from backend.core.health import health_app
from backend.core.port_config import get_port

SERVICE_PORT = get_port("db_poller")
app = health_app("db_poller")

if __name__ == "__main__":
    print(f"[db_poller] using centralized port: {SERVICE_PORT}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=SERVICE_PORT, log_level="warning")
