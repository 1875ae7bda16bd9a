-- The catalog also answers a title typed alone and a title and artist with one typo
-- (docs/DESIGN-NOTES.md, "Title-only" and "Typos").

-- Every title variant with spaces removed: what a query naming the title alone equals.
ALTER TABLE tracks ADD COLUMN title_keys text[] NOT NULL DEFAULT '{}';
-- Each identity and title key spelled letter by letter (NFD: Hangul as jamo) if 4+ long, with
-- its one-deletion neighbourhood: a query one edit from a key shares an entry of its own
-- neighbourhood with these, so the index finds it without a scan (the code confirms the
-- distance and how long a key must be).
ALTER TABLE tracks ADD COLUMN near_keys text[] NOT NULL DEFAULT '{}';

-- Tracks stored before: the same keys the code computes (song_identity::Keys), from the title
-- variants kept in match_keys ("variant \x1f artist").
UPDATE tracks SET title_keys = ARRAY(
    SELECT DISTINCT replace(split_part(k, chr(31), 1), ' ', '')
    FROM unnest(match_keys) AS k
    WHERE split_part(k, chr(31), 1) <> '');
UPDATE tracks SET near_keys = ARRAY(
    SELECT DISTINCT v
    FROM (SELECT normalize(x, NFD) AS x FROM unnest(identity_keys || title_keys) AS x) AS k,
         LATERAL (SELECT k.x
                  UNION ALL
                  SELECT left(k.x, i - 1) || substr(k.x, i + 1)
                  FROM generate_series(1, length(k.x)) AS i) AS d(v)
    WHERE length(k.x) >= 4);

CREATE INDEX tracks_title_keys ON tracks USING gin (title_keys);
CREATE INDEX tracks_near_keys ON tracks USING gin (near_keys);
