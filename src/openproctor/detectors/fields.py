"""What every detector config is built from: a frozen pydantic model that refuses unknown
fields, and a score in 0..1. Cheap to import (pydantic only): the web process reads configs."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Score = Annotated[float, Field(ge=0.0, le=1.0)]


class DetectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
