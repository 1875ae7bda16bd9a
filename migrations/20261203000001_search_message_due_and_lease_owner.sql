-- When a queued search's message is due back on the work queue (confirmed now, or after a
-- retry's delay): a queued search still unclaimed well after that has lost its message, and the
-- sweeper publishes it again instead of letting it wait for its deadline.
ALTER TABLE searches ADD COLUMN IF NOT EXISTS message_due_at timestamptz;
UPDATE searches SET message_due_at = published_at
 WHERE status = 'queued' AND message_due_at IS NULL;

-- Who holds a running search's lease: a worker keeps its own lease alive, and learns when
-- another worker has taken the job over.
ALTER TABLE searches ADD COLUMN IF NOT EXISTS lease_owner uuid;
