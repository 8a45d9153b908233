<RG>/bin/clawdbot cron disable --help
