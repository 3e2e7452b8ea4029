"""The simulators take phone numbers only in E.164 form, as Twilio sends them."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app.cli import app as cli


@pytest.mark.parametrize("command", ["sms", "call"])
@pytest.mark.parametrize("phone", ["15550100123", "555-010-0123", "+0155501001"])
def test_sim_rejects_phone_not_e164(command: str, phone: str) -> None:
    arguments = ["sim", command, phone] + (["BAL"] if command == "sms" else [])

    result = CliRunner().invoke(cli, arguments)

    assert result.exit_code == 2
    assert "E.164" in result.output
    assert "+15550100123" in result.output
