"""From the graph to code: UDF packages, LLM tool schemas, an MCP server, interface diffs.

Depends on `kg` only. Not built yet: see the open issues.
"""
