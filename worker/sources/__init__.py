"""Job sources (the gateway CLI, crontab, launchd, the jobs file) and `SourceSet`, which merges them.

Entry points for the sync loop and the executor: `default_source_set(...)` (or `SourceSet([...])`), then
`await sources.list_jobs()` → `Inventory.mirror_rows()`, and `await sources.run(job_id, timeout=...,
on_started=...)` → `RunOutcome` (`.verdict`, `.result(worker_id)`).
"""
