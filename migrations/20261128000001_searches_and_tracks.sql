-- Search jobs, the catalog of tracks, provider links and the answers that tie them together.
-- Postgres is the source of truth: a job exists when its row commits; RabbitMQ only carries it.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TYPE search_status AS ENUM ('queued', 'running', 'succeeded', 'failed');

-- One row per song, whichever providers know it.
CREATE TABLE tracks (
    id           uuid PRIMARY KEY,
    title        text        NOT NULL,
    artists      text[]      NOT NULL,
    album        text,
    duration_ms  integer,
    isrc         text,
    release_date text,
    image_url    text,
    -- normalized "title \x1f primary artist": the identity of a song that has no ISRC.
    match_key    text        NOT NULL,
    -- normalized title and artists, for catalog search.
    search_text  text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- An ISRC names one recording: the database, not only the code, keeps it to one track.
CREATE UNIQUE INDEX tracks_isrc_key ON tracks (isrc) WHERE isrc IS NOT NULL;
CREATE INDEX tracks_match_key ON tracks (match_key);
CREATE INDEX tracks_search_text_trgm ON tracks USING gin (search_text gin_trgm_ops);

-- Where a track lives at each provider. A provider id belongs to exactly one track.
CREATE TABLE track_links (
    provider    text        NOT NULL,
    provider_id text        NOT NULL,
    track_id    uuid        NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    url         text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, provider_id)
);
CREATE INDEX track_links_track ON track_links (track_id);

CREATE TABLE searches (
    id               uuid          PRIMARY KEY,
    query            text          NOT NULL,
    normalized_query text          NOT NULL,
    search_type      text          NOT NULL,
    result_limit     smallint      NOT NULL,
    status           search_status NOT NULL DEFAULT 'queued',
    -- 'catalog' or the provider that answered.
    source           text,
    attempts         jsonb         NOT NULL DEFAULT '[]',
    error_code       text,
    error_message    text,
    created_at       timestamptz   NOT NULL DEFAULT now(),
    -- past this the job fails with deadline_exceeded rather than spend budget on a stale request.
    deadline_at      timestamptz   NOT NULL,
    -- set once the broker confirmed the job's message; the sweeper re-publishes rows left without.
    published_at     timestamptz,
    started_at       timestamptz,
    -- a running job belongs to its worker until then; afterwards the sweeper reclaims it.
    lease_until      timestamptz,
    finished_at      timestamptz
);
-- Identical searches in flight share one job, across every API process.
CREATE UNIQUE INDEX searches_in_flight
    ON searches (normalized_query, search_type, result_limit)
    WHERE status IN ('queued', 'running');
CREATE INDEX searches_unfinished ON searches (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX searches_answers
    ON searches (normalized_query, search_type, result_limit, finished_at DESC)
    WHERE status = 'succeeded';

CREATE TABLE search_results (
    search_id uuid     NOT NULL REFERENCES searches (id) ON DELETE CASCADE,
    position  smallint NOT NULL,
    track_id  uuid     NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    PRIMARY KEY (search_id, position)
);
CREATE INDEX search_results_track ON search_results (track_id);
