"""Server settings, read from the environment with the prefix STEPWISE_."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "stepwise"


class Settings(BaseSettings):
    """Every knob the server has; each can be set as STEPWISE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="STEPWISE_")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    data_dir: Path = Field(default_factory=_default_data_dir)
    templates_dir: Path = ROOT / "templates"
    static_dir: Path = ROOT / "static"


def get_settings() -> Settings:
    return Settings()
