-- What the limiter must never forget, kept where it survives a Redis that does.
--
-- Redis holds each budget's live state (the sliding log, cooldown, breaker, quota count). When
-- that state is lost (a restart without persistence, FLUSH, a failover to a stale replica,
-- eviction), the limiter rebuilds it from these rows before it grants anything again.

-- One row per budget (a provider credential, or a keyless provider's egress). A row whose
-- `initialized_at` is set has had Redis state before: finding that state gone means it was
-- lost, not that the budget was never used.
CREATE TABLE limiter_budgets (
    budget text PRIMARY KEY,
    initialized_at timestamptz,
    -- The provider asked for no calls before this (429 Retry-After, quota exceeded), in
    -- milliseconds of Redis server time.
    cooldown_until_ms bigint NOT NULL DEFAULT 0,
    -- The adapted limit after the latest 429, for providers that publish none.
    adaptive_limit double precision,
    adaptive_set_at timestamptz
);

-- Every grant of a budget that has a calendar quota or a long window: the calls of the day and
-- of the window can then be rebuilt exactly, instead of waiting out a window of a day.
CREATE TABLE limiter_grants (
    budget text NOT NULL,
    seq bigint NOT NULL,
    granted_at_ms bigint NOT NULL,
    -- The latest moment the provider can have counted the call.
    arrives_by_ms bigint NOT NULL,
    cost integer NOT NULL CHECK (cost > 0),
    PRIMARY KEY (budget, granted_at_ms, seq)
);
