"""Prompt texts for Titan's agents, one file per agent."""
