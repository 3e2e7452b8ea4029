"""The staff Slack bot: the ``/upm`` slash command, approval buttons and alerts.

Slack reaches it through Bolt in HTTP mode at ``POST /slack/events``. Each command turns
into one call of an ``app`` service; this package keeps the conversation state (pending
approvals), never the business rules.
"""
