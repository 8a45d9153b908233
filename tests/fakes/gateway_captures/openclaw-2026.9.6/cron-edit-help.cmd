<RG>/bin/openclaw cron edit --help
