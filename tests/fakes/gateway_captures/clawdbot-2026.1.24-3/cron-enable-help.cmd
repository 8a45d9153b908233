<RG>/bin/clawdbot cron enable --help
