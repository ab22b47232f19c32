"""Purchase orders to suppliers: raising, delaying, receiving and cancelling them.

Its public API is its modules; import the one you need (`from tools.purchasing import
purchase_orders`).
"""

__all__ = ["purchase_orders"]
