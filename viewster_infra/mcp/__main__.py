"""python -m viewster_infra.mcp: the MCP server over stdio (server.py)."""

from viewster_infra.mcp.server import server

if __name__ == "__main__":
    server.run()
