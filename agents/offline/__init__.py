"""The offline model: rule-based routing, playbooks and answers behind a chat-model interface."""

from agents.offline.model import OfflineChatModel

__all__ = ["OfflineChatModel"]
