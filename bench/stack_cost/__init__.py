"""What the gateway's stack costs a submission: the product through its routes only, the product with its fast
path, and the same work on bare ASGI and sqlite3, under one closed loop (`python -m bench.stack_cost`)."""
