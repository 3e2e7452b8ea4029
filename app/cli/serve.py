"""``upm serve``: serve the web application on the database the settings name."""

from __future__ import annotations

import typer


def serve_command(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="TCP port to listen on."),
) -> None:
    """Serve the API, its docs at /docs, and the account pages."""
    import uvicorn

    # Forwarded headers are not applied to the request by uvicorn: the Twilio signature
    # check trusts them only from UPM_TWILIO_TRUSTED_PROXIES (app/messaging/twilio_requests).
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, proxy_headers=False)
