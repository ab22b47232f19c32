"""The offline model: intents as data, a matcher over their examples, plans over MCP tools."""

from agents.offline.model import OfflineChatModel

__all__ = ["OfflineChatModel"]
