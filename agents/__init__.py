"""Titan's LangGraph agents: the supervisor and its specialists."""
