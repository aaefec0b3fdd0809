"""Settings live in ``services.settings`` (the layer every surface builds ``Deps`` from)."""

from services.settings import SETTINGS_FILE, Settings, load_settings

__all__ = ["SETTINGS_FILE", "Settings", "load_settings"]
