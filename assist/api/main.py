"""ASGI entry point for uvicorn (`assist serve`): settings come from the environment."""

from assist.api.app import create_app
from assist.privacy import configure_logging

configure_logging("INFO")
app = create_app()
