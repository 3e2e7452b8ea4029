"""Scripted stand-ins for the caller and the Pay connector of the call simulator."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.demo.twiml_player import Card, ConnectorOutcome, Entry, GatherPrompt, Heard, PayPrompt


class ScriptedPhone:
    """A caller who answers every prompt from a list and hangs up when it runs out."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.heard: list[Heard] = []
        self.gathers: list[GatherPrompt] = []
        self.pays: list[PayPrompt] = []

    def hear(self, line: Heard) -> None:
        self.heard.append(line)

    def answer(self, prompt: GatherPrompt) -> Entry:
        self.gathers.append(prompt)
        return self._next()

    def card_number(self, prompt: PayPrompt) -> Entry:
        self.pays.append(prompt)
        return self._next()

    def _next(self) -> Entry:
        return Entry.parse(self.answers.pop(0) if self.answers else "hangup")


@dataclass
class CannedConnector:
    """A Pay connector that returns one outcome and records what it was asked to do."""

    outcome: ConnectorOutcome = field(
        default_factory=lambda: ConnectorOutcome(confirmation_code="ch_TEST0001")
    )
    requests: list[tuple[PayPrompt, Card]] = field(default_factory=list)

    def process(self, prompt: PayPrompt, card: Card) -> ConnectorOutcome:
        self.requests.append((prompt, card))
        return self.outcome
