-- New-release crawls and the scheduler's ticks.
--
-- A crawl is a parent run; its pages are child jobs, one provider call each. A page row exists
-- before its message is published, so a crawl interrupted anywhere resumes from its rows: pages
-- left unpublished are published again, pages whose worker died are reclaimed after the lease.

CREATE TABLE crawls (
    id          uuid        PRIMARY KEY,
    -- 'schedule' (fired by muze-scheduler) or 'admin' (POST /v1/admin/crawls).
    trigger     text        NOT NULL CHECK (trigger IN ('schedule', 'admin')),
    -- running → succeeded (every page done) or completed_with_errors (some pages failed).
    status      text        NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'succeeded', 'completed_with_errors')),
    sources     text[]      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX crawls_created ON crawls (created_at DESC);

CREATE TABLE crawl_pages (
    crawl_id     uuid        NOT NULL REFERENCES crawls (id) ON DELETE CASCADE,
    -- unique within a crawl: the same album reached twice is one page.
    key          text        NOT NULL,
    -- what to fetch (kind and parameters).
    page         jsonb       NOT NULL,
    status       text        NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'running', 'done', 'failed')),
    -- failed calls so far (waiting for budget is not one).
    failures     integer     NOT NULL DEFAULT 0,
    last_error   text,
    tracks_added integer     NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- set once the broker confirmed the page's message; the sweeper re-publishes rows without.
    published_at timestamptz,
    lease_until  timestamptz,
    finished_at  timestamptz,
    PRIMARY KEY (crawl_id, key)
);
CREATE INDEX crawl_pages_open ON crawl_pages (created_at) WHERE status IN ('pending', 'running');

-- One row per fired tick: the primary key is what makes a tick fire once however many
-- schedulers race for it.
CREATE TABLE schedule_ticks (
    schedule  text        NOT NULL,
    tick      timestamptz NOT NULL,
    fired_at  timestamptz NOT NULL DEFAULT now(),
    -- the replica that won the tick.
    fired_by  text        NOT NULL,
    -- fired late, by the catch-up policy, for a tick no scheduler was up for.
    catch_up  boolean     NOT NULL DEFAULT false,
    -- what the tick enqueued.
    crawl_id  uuid        REFERENCES crawls (id) ON DELETE SET NULL,
    PRIMARY KEY (schedule, tick)
);
