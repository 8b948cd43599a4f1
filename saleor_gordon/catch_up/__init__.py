"""Catching up with orders whose webhooks never arrived: backfill (``saleor-gordon backfill``, orders
created in a range) and reconcile (periodic, orders updated lately), one path for both.

- ``plan``: should a found order be queued? (pure: the decision a job would make, and what the job
  table knows of the order);
- ``store``: what the scans keep: the job facts they decide with, backfill checkpoints, reconcile
  leases;
- ``scan``: paging through a shop's orders, planning and queueing them; reconciling due shops.
"""
