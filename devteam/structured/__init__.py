"""Structured output: turn a model's answer into a validated pydantic object (extract, parse, repair, validate)."""
