import httpx
from shop_common import Order


def handler(event, context):
    order = Order.model_validate(event)
    return {"charged": order.amount_cents, "client": f"httpx {httpx.__version__}"}
