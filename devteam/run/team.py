"""The team: hires roles and routes every published message to the roles that watch its kind."""

from __future__ import annotations

from collections import deque

from devteam.roles.base import Message, Role, RunContext
from devteam.roles.messages import IdeaGiven


class Team:
    def __init__(self, run: RunContext, roles: list[Role] | None = None) -> None:
        self.run = run
        self.roles: list[Role] = list(roles or [])
        self.history: list[Message] = []

    async def start(self, idea: str) -> list[Message]:
        """Publish the idea and route messages until no role has anything left to say."""
        queue: deque[Message] = deque([Message("idea", IdeaGiven(idea), "User")])
        while queue:
            message = queue.popleft()
            self.history.append(message)
            for role in self.roles:
                if message.kind in role.watches:
                    queue.extend(await role.react(message, self.run))
        return self.history
