<RG>/bin/clawdbot cron edit <ID> --cron 61 * * * *
