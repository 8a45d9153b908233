<RG>/bin/clawdbot cron edit --help
