CLAWDBOT_GATEWAY_TOKEN=wrong-token <GW>/node_modules/.bin/clawdbot cron list --all --json
