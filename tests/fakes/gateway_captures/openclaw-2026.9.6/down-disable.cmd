<RG>/bin/openclaw cron disable <ID>
