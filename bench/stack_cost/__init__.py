"""What the gateway's stack costs a submission: the product, its own service layer behind a bare ASGI route, and
the same work on bare ASGI and sqlite3, under one closed loop (`python -m bench.stack_cost`)."""
