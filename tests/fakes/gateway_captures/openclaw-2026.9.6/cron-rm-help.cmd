<RG>/bin/openclaw cron rm --help
