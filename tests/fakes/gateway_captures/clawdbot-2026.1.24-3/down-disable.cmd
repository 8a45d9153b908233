<RG>/bin/clawdbot cron disable <ID>
