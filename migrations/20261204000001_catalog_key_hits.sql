-- The catalog's key lookups, kept on their indexes at every catalog size
-- (docs/BENCHMARKS.md, "Where a search's time goes").

-- The tracks a query key names: the key among their identity or title keys, or its one-edit
-- probe meeting their near keys. Always through the three GIN indexes (a bitmap OR): the
-- planner prices `&&` at one operator's cost per row whatever the arrays' lengths, so on a
-- catalog of a few thousand tracks it preferred a sequential scan comparing every track's ~50
-- near keys with the probe's ~20: 3-10 ms a search against 0.1 ms through the indexes. A
-- lookup by key is selective by design, so the index is the right plan at every size; the
-- setting holds inside this function only. PL/pgSQL keeps the plan for the session.
CREATE FUNCTION catalog_key_hits(probe text[], query_key text) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE ROWS 10
SET enable_seqscan = off
AS $$
BEGIN
    RETURN QUERY
        SELECT t.id FROM tracks t
        WHERE t.identity_keys @> ARRAY[query_key] OR t.title_keys @> ARRAY[query_key]
           OR t.near_keys && probe;
END
$$;

-- Entries go straight into these indexes instead of a pending list: every search the catalog
-- cannot answer looks its keys up here (and every answer stored matches its tracks through
-- match_keys), and each lookup scanned the whole pending list — up to 4 MB of the newest
-- tracks' keys — while an insert into the index itself costs the worker a fraction of a
-- millisecond. Entries already pending move into the index at the next vacuum.
ALTER INDEX tracks_identity_keys SET (fastupdate = off);
ALTER INDEX tracks_title_keys SET (fastupdate = off);
ALTER INDEX tracks_near_keys SET (fastupdate = off);
ALTER INDEX tracks_match_keys SET (fastupdate = off);
