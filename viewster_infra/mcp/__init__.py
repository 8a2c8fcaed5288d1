"""The suite as tools for an AI assistant (MCP, over stdio): `python -m viewster_infra.mcp`."""
