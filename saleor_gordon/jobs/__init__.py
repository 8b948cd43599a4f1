"""Sync jobs: one per order, from the event that queues it to what Gordon and Saleor end up with.

- ``lifecycle``: the job's states and transitions, as one pure table (what to store after an
  attempt, when to retry, when an episode ends or starts again);
- ``attempt``: one attempt: read the shop and the order, decide, call Gordon, tell Saleor; it
  returns what it found as a typed outcome and stores nothing;
- ``worker``: the workers: claim a due job, run the attempt under a renewed lease, apply the
  transition and record it;
- ``queue``: the job table's writes: enqueue (the webhook group path too), claim, renew, finish,
  retry; waking the workers when it made a job due;
- ``views``: the job table's reads, for the Dashboard, the CLI, metrics and doctor.
"""
