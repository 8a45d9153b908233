"""Job sources: the gateway CLI, crontab, launchd and the jobs file, merged by `SourceSet`."""
