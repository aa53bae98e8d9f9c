"""The discovery service: label-based registration, health broadcast over WebSocket, MCP
compliance checks and Prometheus file_sd targets. Runs in the stack's discovery phase."""

DISCOVERY_PORT = 7000  # where the discovery service listens unless DISCOVERY_PORT says
