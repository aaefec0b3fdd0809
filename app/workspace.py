"""The workspace folder lives in ``services.workspace``."""

from services.workspace import Workspace

__all__ = ["Workspace"]
