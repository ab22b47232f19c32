"""MCP tool servers, one per domain, over the operations in `tools/`."""
