"""The delivery engine: one pipeline, as DESIGN.md's "Engine" draws it.

``pipeline.deliveries_send``  claim → send → record, the only way a webhook is sent
``claim``      lock due deliveries in batches (SKIP LOCKED), take slots, mark them in flight
``send``       sign and POST each, one thread per account lane; an ``Outcome`` each
``record``     one attempt row per outcome; retry schedule, 410, the failure clock
``scan``       the beat's scan: lost attempts recorded, due deliveries re-enqueued
``upkeep``     purge old logs, disable endpoints that keep failing
``transport``  the HTTP of one attempt; ``targets`` the address check (save and send),
               ``body`` bounded decoding, ``deadline`` the per-attempt deadline in any thread
``slots``      per-endpoint and per-account concurrency; ``retry`` the schedule;
``queue``      the broker messages; ``checks`` the settings check

Nothing is imported here, so ``services`` and ``publish`` can use ``queue`` and ``targets``
without loading the rest (which imports ``services``)."""
