"""Qt-free heart of CronMirror: row types, stores, the Control API client, settings and secrets."""
