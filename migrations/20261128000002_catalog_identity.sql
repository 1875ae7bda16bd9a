-- Every way we know a song: a track collects the title variants providers gave it (e.g.
-- "좋은 날" from Spotify, "Good Day(좋은 날)" from YouTube), so any of them matches it again and a
-- query naming exactly one variant and an artist can be answered from the catalog.

-- normalized "title \x1f artist" for each title variant and artist the track is known by.
ALTER TABLE tracks ADD COLUMN match_keys text[] NOT NULL DEFAULT '{}';
-- title and artist with spaces removed, in both orders: what a confident query equals.
ALTER TABLE tracks ADD COLUMN identity_keys text[] NOT NULL DEFAULT '{}';

UPDATE tracks SET match_keys = ARRAY[match_key] WHERE match_keys = '{}';

CREATE INDEX tracks_match_keys ON tracks USING gin (match_keys);
CREATE INDEX tracks_identity_keys ON tracks USING gin (identity_keys);

-- "좋은날" must find "좋은 날": catalog search also matches the text with spaces removed.
CREATE INDEX tracks_compact_text_trgm ON tracks USING gin (replace(search_text, ' ', '') gin_trgm_ops);
