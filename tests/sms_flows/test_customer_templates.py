"""Customer reply templates are budgeted at one or two segments in both languages.

tests/messaging/test_segment_budgets.py renders every template against its declared
budget. This test keeps the budgets themselves short.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.settings import PROJECT_ROOT

TEMPLATES = Path(PROJECT_ROOT) / "templates" / "sms"
BUDGET = re.compile(r"\{#- segment budget: en=(\d+) es=(\d+) -#\}")


def template_paths() -> list[Path]:
    return sorted(TEMPLATES.glob("*.txt"))


def test_templates_found() -> None:
    assert len(template_paths()) >= 20


@pytest.mark.parametrize("path", template_paths(), ids=lambda path: path.stem)
def test_reply_budget_at_most_two(path: Path) -> None:
    declared = BUDGET.match(path.read_text(encoding="utf-8"))

    assert declared is not None, f"{path.name} does not open with its segment budget"
    assert int(declared.group(1)) <= 2
    assert int(declared.group(2)) <= 2
