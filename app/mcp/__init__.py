"""The MCP server (``costpilot mcp``): the agent-safe tools for MCP clients."""
