"""LTI 1.3 tables: registered platforms, the tool's key pair, pending OIDC logins, the staff
accounts LTI instructors sign in as, and which instructors launched which exam."""

from __future__ import annotations

import uuid
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openproctor.db import Base, IdMixin, utcnow


class LtiPlatform(IdMixin, Base):
    """A learning platform registered by an admin: how it signs launches and where its
    OIDC login endpoint is. One row per (issuer, client id)."""

    __tablename__ = "lti_platforms"
    __table_args__ = (
        UniqueConstraint("issuer", "client_id", name="uq_lti_platforms_issuer_client_id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    auth_login_url: Mapped[str] = mapped_column(String(2000))
    auth_token_url: Mapped[str | None] = mapped_column(String(2000))
    # The platform's keys: a JWKS URL, or one PEM public key pasted by the admin.
    key_set_url: Mapped[str | None] = mapped_column(String(2000))
    public_key: Mapped[str | None] = mapped_column(Text)
    deployment_ids: Mapped[list[str]] = mapped_column(JSON)
    # The exam a launch opens unless its custom parameter exam_id names another.
    default_exam_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("exams.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LtiToolKey(IdMixin, Base):
    """The tool's own RSA key pair, made on first use; its public half is /lti/jwks.

    Kept in the database (not DATA_DIR) so that every web node serves the same keys.
    """

    __tablename__ = "lti_tool_keys"

    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_pem: Mapped[str] = mapped_column(Text)


class LtiLogin(IdMixin, Base):
    """A login initiation waiting for its launch: used once, then deleted; expires soon."""

    __tablename__ = "lti_logins"

    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LtiAccount(IdMixin, Base):
    """The staff account an LTI user (a platform's `sub`) signs in as."""

    __tablename__ = "lti_accounts"
    __table_args__ = (
        UniqueConstraint("platform_id", "subject", name="uq_lti_accounts_platform_id_subject"),
    )

    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )


class LtiExamInstructor(Base):
    """An instructor who launched an exam from a platform: learners of that platform who
    launch it later are assigned to these proctors."""

    __tablename__ = "lti_exam_instructors"

    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE"), primary_key=True
    )
    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    launched_at: Mapped[datetime] = mapped_column(default=utcnow)


class LtiLink(Base):
    """A platform's resource link (an activity in a course) bound to the exam its first
    launch opened: later launches of the link open that exam."""

    __tablename__ = "lti_links"

    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE"), primary_key=True
    )
    deployment_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource_link_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LtiExamPlatform(Base):
    """An exam in use by a platform (deep-linked from it, or bound to one of its links): a
    launch from another platform may not name it."""

    __tablename__ = "lti_exam_platforms"

    exam_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exams.id", ondelete="CASCADE"), primary_key=True
    )
    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lti_platforms.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


MAX_DEPLOYMENTS = 50


class PlatformWrite(BaseModel):
    """POST /api/v1/lti/platforms and PUT /api/v1/lti/platforms/{id}: the whole document."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=200, description="A label for people, e.g. 'Moodle (main)'."
    )
    issuer: str = Field(
        min_length=1,
        max_length=500,
        description="The platform's issuer (`iss` of its id_tokens), e.g. https://moodle.example.edu.",
    )
    client_id: str = Field(
        min_length=1,
        max_length=200,
        description="The client id the platform gave this tool (the id_token's `aud`).",
    )
    auth_login_url: AnyHttpUrl = Field(
        description="The platform's OIDC authentication request URL (Moodle: /mod/lti/auth.php)."
    )
    auth_token_url: AnyHttpUrl | None = Field(
        default=None, description="The platform's OAuth 2 token URL (for LTI services; optional)."
    )
    key_set_url: AnyHttpUrl | None = Field(
        default=None,
        description="The platform's public keys as a JWKS URL (Moodle: /mod/lti/certs.php). "
        "It must resolve to public addresses only, unless OPENPROCTOR_OUTBOUND_ALLOW lists it.",
    )
    public_key: str | None = Field(
        default=None,
        max_length=10_000,
        description="Instead of key_set_url: the platform's RSA public key in PEM.",
    )
    deployment_ids: list[str] = Field(
        min_length=1,
        max_length=MAX_DEPLOYMENTS,
        description="The deployment ids launches may carry (`deployment_id` claim).",
    )
    default_exam_id: uuid.UUID | None = Field(
        default=None,
        description="The exam a launch opens when its custom parameter `exam_id` is absent.",
    )

    @field_validator("name", "issuer", "client_id")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("deployment_ids")
    @classmethod
    def _clean_deployments(cls, value: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(item.strip() for item in value if item.strip()))
        if not cleaned:
            raise ValueError("give at least one deployment id")
        if any(len(item) > 255 for item in cleaned):
            raise ValueError("a deployment id is longer than 255 characters")
        return cleaned

    @field_validator("public_key")
    @classmethod
    def _rsa_public_key(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            key = load_pem_public_key(value.strip().encode())
        except ValueError:
            raise ValueError("not a PEM public key (-----BEGIN PUBLIC KEY-----)") from None
        if not isinstance(key, RSAPublicKey):
            raise ValueError("must be an RSA public key (LTI 1.3 signs with RS256)")
        return value.strip() + "\n"

    @model_validator(mode="after")
    def _one_key_source(self) -> PlatformWrite:
        if (self.key_set_url is None) == (self.public_key is None):
            raise ValueError("give either key_set_url or public_key (one of them)")
        return self


class PlatformRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str | None
    key_set_url: str | None
    public_key: str | None
    deployment_ids: list[str]
    default_exam_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ToolConfiguration(BaseModel):
    """What to enter on the platform's side when registering this tool."""

    login_url: str = Field(description="OIDC login initiation URL (GET or POST).")
    launch_url: str = Field(description="Redirect URI and target link URI of launches.")
    jwks_url: str = Field(description="The tool's public keys (JWKS).")
    custom_parameters: str = Field(description="Optional custom parameter naming the exam.")
