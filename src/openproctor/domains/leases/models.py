"""A lease: one row per job that only one node may run at a time; the holder renews it before
`expires_at`, and once that passes any node may take it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, UTCDateTime

HOLDER_MAX_CHARS = 200


class Lease(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(HOLDER_MAX_CHARS))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
