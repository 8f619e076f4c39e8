"""What both functions share: the order model."""

from pydantic import BaseModel


class Order(BaseModel):
    order_id: str
    amount_cents: int
