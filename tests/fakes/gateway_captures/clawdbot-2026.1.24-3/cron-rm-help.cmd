<RG>/bin/clawdbot cron rm --help
