"""Dive sites and dive logs of the react_scuba workspace, served over MCP."""
