"""Roles: which actions they run and which artifacts they watch. The team routes what they publish."""
