<RG>/bin/openclaw cron edit <ID> --cron 61 * * * *
