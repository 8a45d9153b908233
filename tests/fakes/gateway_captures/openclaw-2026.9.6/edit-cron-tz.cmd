<RG>/bin/openclaw cron edit <ID> --cron 15 4 * * 1-5 --tz America/New_York
