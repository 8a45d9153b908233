-- Why: the seed's `status` is free text, so a typo ("Done", "failed") would leave a request that no
-- client knows how to show and no worker will ever finish. Only the five states of the lifecycle
-- queued -> running -> done | error, plus cancelled (a queued request withdrawn by the user), are allowed.
ALTER TABLE public.cron_run_requests
  ADD CONSTRAINT cron_run_requests_status_check
  CHECK (status IN ('queued', 'running', 'done', 'error', 'cancelled'));
