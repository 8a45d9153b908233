<RG>/bin/openclaw cron enable --help
