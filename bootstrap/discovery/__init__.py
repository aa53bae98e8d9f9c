"""The discovery service: label-based registration, health broadcast over WebSocket, MCP
compliance checks and Prometheus file_sd targets. Runs in the stack's discovery phase."""

DISCOVERY_PORT = 7000  # where the discovery service listens unless DISCOVERY_PORT says
# the variable (in the stack's environment and the discovery service's) holding the token
# every writer (Alertmanager, the supervisor) sends: `bootstrap up` generates it where a
# workspace lists it in generate_secrets
DISCOVERY_TOKEN = "DISCOVERY_TOKEN"  # noqa: S105 - a variable's name, not a token
