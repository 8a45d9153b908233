<RG>/bin/clawdbot cron edit 00000000-0000-0000-0000-000000000000 --name=x
