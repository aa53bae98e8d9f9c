"""The discovery service: label-based registration, health broadcast over WebSocket, MCP
compliance checks and Prometheus file_sd targets. Runs in the stack's discovery phase."""
