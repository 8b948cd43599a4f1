"""What the tests and the benchmarks share, and the app does not ship.

- ``saleor_fake``: a Saleor (JWKS, GraphQL executed against the real schema, signed webhooks);
  ``saleor_schema``: where that schema comes from (the copy kept in ``tests/data/saleor``);
  ``saleor_order_template.json``: its order;
- ``loopback``: serving an ASGI app (a fake, the Gordon sandbox) on 127.0.0.1 in a thread;
- ``app_process``: the app as real processes (``serve``, ``worker``), and the port a server
  started on port 0 listens on (``listening_port``: no port is chosen beforehand);

The Gordon sandbox itself is part of the app (``saleor-gordon fake-gordon``):
``saleor_gordon.fakes.gordon_sandbox``.
"""
