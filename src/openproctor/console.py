"""What the `openproctor` commands share (cli.py, tools/commands.py): the settings, or a clear
message instead of a traceback."""

from __future__ import annotations

from pathlib import Path

import click

from openproctor.settings import Settings, SettingsError, load_settings


def command_settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def model_dir(settings: Settings) -> Path:
    from openproctor.detectors import install

    return install.models_dir(settings.data_dir)
