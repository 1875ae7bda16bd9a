-- The status page reads the last minutes of searches (rates, POST → final latency, provider
-- calls per window from their attempts): by creation time, without scanning the whole table.
CREATE INDEX IF NOT EXISTS searches_created ON searches (created_at);
