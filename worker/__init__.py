"""The Mac mini worker: mirrors local jobs into cron_mirror and executes queued run requests."""
