"""HTTP models of notifications and webhooks."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Row

from services.contract.codes import ShortText

WEBHOOK_EXAMPLE = {"url": "https://hooks.example.org/single-window", "description": "clearance changes to our ERP"}


class NotificationRead(BaseModel):
    id: str = Field(description="Also the webhook-id header of its webhook deliveries: deduplicate by it")
    sequence: int = Field(description="1, 2, ... in this key's feed; the server-sent event id")
    type: str = Field(description="clearance.changed or goods.arrived")
    created_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, row: Row[Any]) -> "NotificationRead":
        return cls(id=row.id, sequence=row.sequence, type=row.type, created_at=row.created_at, data=row.data)


class NotificationPage(BaseModel):
    items: list[NotificationRead]
    last_sequence: int = Field(description="The newest sequence in the feed: pass it as `after` to wait for more")


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2048,
        pattern=r"^[^\x00-\x1F\x7F]+$",
        description="Where to POST notifications; its host must be allow-listed",
    )
    description: ShortText | None = None


class DeliveryCounts(BaseModel):
    pending: int = 0
    delivered: int = 0
    abandoned: int = 0


class WebhookRead(BaseModel):
    id: str
    url: str
    description: str | None
    status: Literal["active", "disabled"]
    disabled_at: datetime | None
    disabled_reason: str | None = Field(description="Why it was disabled: the failures and the last error")
    created_at: datetime
    deliveries: DeliveryCounts

    @classmethod
    def of(cls, row: Row[Any], counts: dict[str, int]) -> "WebhookRead":
        return cls(
            id=row.id,
            url=row.url,
            description=row.description,
            status="disabled" if row.disabled_at is not None else "active",
            disabled_at=row.disabled_at,
            disabled_reason=row.disabled_reason,
            created_at=row.created_at,
            deliveries=DeliveryCounts.model_validate(counts),
        )


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Shown once: the key of the webhook-signature HMAC (Standard Webhooks)")


class AttemptRead(BaseModel):
    number: int
    at: datetime
    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryRead(BaseModel):
    id: str
    notification_id: str
    type: str
    sequence: int
    state: Literal["pending", "delivered", "abandoned"]
    next_attempt_at: datetime | None = Field(description="When a pending delivery is tried next")
    delivered_at: datetime | None
    last_error: str | None
    attempts: list[AttemptRead]


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None
