"""devteam: a software company of LLM roles that turns one line of idea into a git repository."""

__version__ = "0.1.0"
