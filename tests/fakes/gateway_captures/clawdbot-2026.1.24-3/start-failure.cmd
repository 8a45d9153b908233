<GW>/node_modules/.bin/clawdbot cron list --all --json   # strip-ansi missing from the install
