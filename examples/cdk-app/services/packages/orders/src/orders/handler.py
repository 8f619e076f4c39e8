from shop_common import Order


def handler(event, context):
    order = Order.model_validate(event)
    return {"accepted": order.order_id}
