"""Staff accounts, their login sessions and login attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, str_enum


class Role(StrEnum):
    ADMIN = "admin"
    PROCTOR = "proctor"
    REVIEWER = "reviewer"


class User(IdMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    # Set by an admin's reset: the temporary password they handed over works for one sign-in,
    # after which every page and API call asks for the user's own password first.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())


class StaffSession(IdMixin, Base):
    """Server-side login session; the cookie holds a random token, the table its hash."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]
    client_ip: Mapped[str] = mapped_column(String(64), default="")


class LoginAttempt(IdMixin, Base):
    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_created", "email", "created_at"),
        Index("ix_login_attempts_ip_created", "client_ip", "created_at"),
    )

    email: Mapped[str] = mapped_column(String(320))
    client_ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=10, max_length=200)


class UserUpdate(BaseModel):
    """An admin's change to a staff account; what is left out stays. A new role, a new password
    or deactivation signs the user out everywhere, open sockets included."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)


class PasswordChange(BaseModel):
    """A staff member's change of their own password: the current one proves it is them."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=10, max_length=200)


class TemporaryPassword(BaseModel):
    """An admin's reset: shown once, to hand over; it must be replaced at the next sign-in."""

    temporary_password: str


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool
    must_change_password: bool
    created_at: datetime
    last_login_at: datetime | None
