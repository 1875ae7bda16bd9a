-- Who holds a running crawl page's lease: the worker fetching it keeps its lease alive while
-- the call lasts, and learns when the sweeper has handed the page to another worker.
ALTER TABLE crawl_pages ADD COLUMN IF NOT EXISTS lease_owner uuid;
