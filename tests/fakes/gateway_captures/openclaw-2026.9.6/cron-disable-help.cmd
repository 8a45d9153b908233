<RG>/bin/openclaw cron disable --help
