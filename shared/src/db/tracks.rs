//! The track catalog: provider results folded into one track per song, and read back with
//! every provider link.
//!
//! A provider result joins an existing track by, in order: its own provider link, its ISRC,
//! or its match key (normalized title + primary artist) with durations within
//! [`DURATION_TOLERANCE_MS`] — except that two results of one answer share a track by match
//! key only across providers: within one provider's answer, only its own word (the same
//! ISRC) makes two results one recording. Concurrent writers of the same song serialize on transaction-level
//! advisory locks taken in one global order (so they cannot deadlock each other), and the unique
//! ISRC index and link primary key make a duplicate impossible even for code that skips them.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    sync::LazyLock,
};

use sqlx::{types::Json, PgExecutor, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::{
    catalog_match::Candidate, normalize_text, song_identity, ProviderName, ProviderTrack, Track,
};

/// Two releases of one song rarely differ by more than this (radio edits aside); different
/// songs with the same title and artist usually do.
pub const DURATION_TOLERANCE_MS: i32 = 3_000;

/// The identity of a song without an ISRC: normalized full title and primary artist (the
/// first of [`song_identity::match_keys`]).
pub fn match_key(title: &str, artists: &[String]) -> String {
    song_identity::match_keys(title, artists)
        .into_iter()
        .next()
        .unwrap_or_else(|| {
            format!(
                "\u{1f}{}",
                normalize_text(artists.first().map(String::as_str).unwrap_or(""))
            )
        })
}

/// The text catalog search looks in: normalized title and every artist.
pub fn search_text(title: &str, artists: &[String]) -> String {
    normalize_text(&format!("{} {}", title, artists.join(" ")))
}

fn lock_keys(track: &ProviderTrack) -> Vec<String> {
    let mut keys = vec![format!("link:{}:{}", track.provider, track.provider_id)];
    keys.extend(
        song_identity::match_keys(&track.title, &track.artists)
            .into_iter()
            .map(|k| format!("match:{k}")),
    );
    if let Some(isrc) = &track.isrc {
        keys.push(format!("isrc:{isrc}"));
    }
    keys
}

/// `(provider, provider_id, track id, duration, ISRC)` of an existing link.
type LinkedRow = (String, String, Uuid, Option<i32>, Option<String>);

/// `(match keys, track id, duration, ISRC)` of a track sharing a match key.
type KeyedRow = (Vec<String>, Uuid, Option<i32>, Option<String>);

/// A catalog track as far as matching needs it.
#[derive(Debug, Clone)]
struct Known {
    id: Uuid,
    duration_ms: Option<i32>,
    isrc: Option<String>,
}

/// Whether a provider result may be the same recording as a known track with the same match
/// key: durations within tolerance (or unknown) and no conflicting ISRCs.
fn same_recording(known: &Known, t: &ProviderTrack) -> bool {
    let durations = match (known.duration_ms, t.duration_ms) {
        (Some(a), Some(b)) => (a - b).abs() <= DURATION_TOLERANCE_MS,
        _ => true,
    };
    let isrcs = match (&known.isrc, &t.isrc) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    durations && isrcs
}

/// What [`upsert_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upserted {
    /// The catalog track of each result, in input order.
    pub ids: Vec<Uuid>,
    /// How many of them are new to the catalog.
    pub created: usize,
}

/// Saves provider results into the catalog and returns the track id of each, in input order.
///
/// Set-based: a fixed number of statements whatever the number of results (locks, three
/// lookups, one insert of new tracks, one update filling known ones, one insert of links), with
/// the matching itself done here in memory, in input order, so two results of one answer that
/// are the same song also become one track.
pub async fn upsert_all(
    tx: &mut Transaction<'_, Postgres>,
    found: &[ProviderTrack],
) -> Result<Upserted, sqlx::Error> {
    if found.is_empty() {
        return Ok(Upserted::default());
    }
    // Every lock this transaction needs, taken up front in one global (sorted) order.
    let keys: Vec<String> = found
        .iter()
        .flat_map(lock_keys)
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    sqlx::query(
        "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest($1::text[]) AS k",
    )
    .bind(&keys)
    .execute(&mut **tx)
    .await?;

    let providers: Vec<&str> = found.iter().map(|t| t.provider.as_str()).collect();
    let provider_ids: Vec<&str> = found.iter().map(|t| t.provider_id.as_str()).collect();
    let isrcs: Vec<&str> = found.iter().filter_map(|t| t.isrc.as_deref()).collect();
    let match_keys: Vec<Vec<String>> = found
        .iter()
        .map(|t| song_identity::match_keys(&t.title, &t.artists))
        .collect();
    let all_keys: Vec<&str> = match_keys.iter().flatten().map(String::as_str).collect();

    let linked: Vec<LinkedRow> = sqlx::query_as(
        "SELECT l.provider, l.provider_id, t.id, t.duration_ms, t.isrc
         FROM track_links l JOIN tracks t ON t.id = l.track_id
         WHERE (l.provider, l.provider_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
    )
    .bind(&providers)
    .bind(&provider_ids)
    .fetch_all(&mut **tx)
    .await?;
    let by_isrc: Vec<(String, Uuid, Option<i32>)> =
        sqlx::query_as("SELECT isrc, id, duration_ms FROM tracks WHERE isrc = ANY($1)")
            .bind(&isrcs)
            .fetch_all(&mut **tx)
            .await?;
    let by_key: Vec<KeyedRow> = sqlx::query_as(
        "SELECT match_keys, id, duration_ms, isrc FROM tracks WHERE match_keys && $1
         ORDER BY (isrc IS NOT NULL) DESC, created_at",
    )
    .bind(&all_keys)
    .fetch_all(&mut **tx)
    .await?;

    let mut links: HashMap<(String, String), Known> = linked
        .into_iter()
        .map(|(p, id, track, duration_ms, isrc)| {
            let known = Known {
                id: track,
                duration_ms,
                isrc,
            };
            ((p, id), known)
        })
        .collect();
    let mut isrc_owner: HashMap<String, Known> = by_isrc
        .into_iter()
        .map(|(isrc, id, duration_ms)| {
            let known = Known {
                id,
                duration_ms,
                isrc: Some(isrc.clone()),
            };
            (isrc, known)
        })
        .collect();
    let mut candidates: HashMap<String, Vec<Known>> = HashMap::new();
    for (keys, id, duration_ms, isrc) in by_key {
        let known = Known {
            id,
            duration_ms,
            isrc,
        };
        for key in keys.into_iter().filter(|k| all_keys.contains(&k.as_str())) {
            candidates.entry(key).or_default().push(known.clone());
        }
    }

    let mut ids = Vec::with_capacity(found.len());
    let mut new_tracks: Vec<(Uuid, &ProviderTrack, &[String])> = Vec::new();
    let mut fills: Vec<(Uuid, &ProviderTrack, Option<&str>, &[String])> = Vec::new();
    let mut new_links: Vec<(&ProviderTrack, Uuid)> = Vec::new();
    // Tracks a provider's result has already landed on in this answer. Another result of the
    // same answer joins one of them only when the provider itself says it is the same
    // recording (the same link or ISRC), never by title and artist: a provider listing two
    // results means two recordings (an MV and a live clip of one song, say).
    let mut landed: HashSet<(Uuid, &str)> = HashSet::new();
    for (t, keys) in found.iter().zip(&match_keys) {
        let link = (t.provider.as_str().to_string(), t.provider_id.clone());
        let existing = links
            .get(&link)
            .cloned()
            .or_else(|| t.isrc.as_ref().and_then(|i| isrc_owner.get(i).cloned()))
            .or_else(|| {
                keys.iter().find_map(|key| {
                    candidates.get(key).and_then(|c| {
                        c.iter()
                            .find(|k| {
                                same_recording(k, t)
                                    && !landed.contains(&(k.id, t.provider.as_str()))
                            })
                            .cloned()
                    })
                })
            });
        let id = match existing {
            Some(known) => {
                // Take the ISRC only if the track has none and no other track holds it.
                let isrc = t
                    .isrc
                    .as_deref()
                    .filter(|i| known.isrc.is_none() && !isrc_owner.contains_key(*i));
                if let Some(i) = isrc {
                    let updated = Known {
                        isrc: Some(i.to_string()),
                        ..known.clone()
                    };
                    isrc_owner.insert(i.to_string(), updated.clone());
                    for c in candidates
                        .values_mut()
                        .flatten()
                        .filter(|c| c.id == known.id)
                    {
                        c.isrc = Some(i.to_string());
                    }
                }
                fills.push((known.id, t, isrc, keys));
                known.id
            }
            None => {
                let known = Known {
                    id: Uuid::now_v7(),
                    duration_ms: t.duration_ms,
                    isrc: t.isrc.clone(),
                };
                if let Some(i) = &t.isrc {
                    isrc_owner.insert(i.clone(), known.clone());
                }
                for key in keys {
                    candidates
                        .entry(key.clone())
                        .or_default()
                        .insert(0, known.clone());
                }
                new_tracks.push((known.id, t, keys));
                known.id
            }
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = links.entry(link) {
            slot.insert(Known {
                id,
                duration_ms: t.duration_ms,
                isrc: t.isrc.clone(),
            });
            new_links.push((t, id));
        }
        landed.insert((id, t.provider.as_str()));
        ids.push(id);
    }
    insert_new(tx, &new_tracks).await?;
    fill_missing(tx, &fills).await?;
    insert_links(tx, &new_links).await?;
    Ok(Upserted {
        ids,
        created: new_tracks.len(),
    })
}

async fn insert_new(
    tx: &mut Transaction<'_, Postgres>,
    new_tracks: &[(Uuid, &ProviderTrack, &[String])],
) -> Result<(), sqlx::Error> {
    if new_tracks.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&ProviderTrack) -> Option<String>| -> Vec<Option<String>> {
        new_tracks.iter().map(|(_, t, _)| f(t)).collect()
    };
    let ids: Vec<Uuid> = new_tracks.iter().map(|(id, _, _)| *id).collect();
    let titles: Vec<&str> = new_tracks
        .iter()
        .map(|(_, t, _)| t.title.as_str())
        .collect();
    // Postgres has no arrays of arrays of differing lengths: lists travel as JSON.
    let artists: Vec<Json<&Vec<String>>> = new_tracks
        .iter()
        .map(|(_, t, _)| Json(&t.artists))
        .collect();
    let durations: Vec<Option<i32>> = new_tracks.iter().map(|(_, t, _)| t.duration_ms).collect();
    let first_keys: Vec<&str> = new_tracks
        .iter()
        .map(|(_, _, k)| k.first().map(String::as_str).unwrap_or(""))
        .collect();
    let keys: Vec<Json<&[String]>> = new_tracks.iter().map(|(_, _, k)| Json(*k)).collect();
    let named: Vec<song_identity::Keys> = new_tracks
        .iter()
        .map(|(_, t, _)| song_identity::Keys::of(&t.title, &t.artists))
        .collect();
    let identities: Vec<Json<&[String]>> = named.iter().map(|k| Json(&k.identity[..])).collect();
    let title_keys: Vec<Json<&[String]>> = named.iter().map(|k| Json(&k.titles[..])).collect();
    let near_keys: Vec<Json<&[String]>> = named.iter().map(|k| Json(&k.near[..])).collect();
    let texts: Vec<String> = new_tracks
        .iter()
        .map(|(_, t, _)| search_text(&t.title, &t.artists))
        .collect();
    sqlx::query(
        "INSERT INTO tracks (id, title, artists, album, duration_ms, isrc, release_date,
                             image_url, match_key, match_keys, identity_keys, search_text,
                             title_keys, near_keys)
         SELECT u.id, u.title, ARRAY(SELECT jsonb_array_elements_text(u.artists)), u.album,
                u.duration_ms, u.isrc, u.release_date, u.image_url, u.match_key,
                ARRAY(SELECT jsonb_array_elements_text(u.match_keys)),
                ARRAY(SELECT jsonb_array_elements_text(u.identity_keys)), u.search_text,
                ARRAY(SELECT jsonb_array_elements_text(u.title_keys)),
                ARRAY(SELECT jsonb_array_elements_text(u.near_keys))
         FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[], $5::int[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::jsonb[], $12::text[],
                     $13::jsonb[], $14::jsonb[])
              AS u(id, title, artists, album, duration_ms, isrc, release_date, image_url,
                   match_key, match_keys, identity_keys, search_text, title_keys, near_keys)",
    )
    .bind(&ids)
    .bind(&titles)
    .bind(&artists)
    .bind(col(|t| t.album.clone()))
    .bind(&durations)
    .bind(col(|t| t.isrc.clone()))
    .bind(col(|t| t.release_date.clone()))
    .bind(col(|t| t.image_url.clone()))
    .bind(&first_keys)
    .bind(&keys)
    .bind(&identities)
    .bind(&texts)
    .bind(&title_keys)
    .bind(&near_keys)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What one answer adds to one known track, merged over every result that matched it.
#[derive(Debug, Default)]
struct Fill {
    album: Option<String>,
    duration_ms: Option<i32>,
    isrc: Option<String>,
    release_date: Option<String>,
    image_url: Option<String>,
    match_keys: BTreeSet<String>,
    identity_keys: BTreeSet<String>,
    title_keys: BTreeSet<String>,
    near_keys: BTreeSet<String>,
    titles: BTreeSet<String>,
}

/// Completes known tracks with what another provider knows and they did not (never
/// overwriting; the ISRC only where [`upsert_all`] decided it is free), and adds the names
/// this provider knows the song by, so they find it again.
async fn fill_missing(
    tx: &mut Transaction<'_, Postgres>,
    fills: &[(Uuid, &ProviderTrack, Option<&str>, &[String])],
) -> Result<(), sqlx::Error> {
    if fills.is_empty() {
        return Ok(());
    }
    let mut merged: BTreeMap<Uuid, Fill> = BTreeMap::new();
    for (id, t, isrc, keys) in fills {
        let f = merged.entry(*id).or_default();
        f.album = f.album.take().or_else(|| t.album.clone());
        f.duration_ms = f.duration_ms.or(t.duration_ms);
        f.isrc = f.isrc.take().or_else(|| isrc.map(str::to_string));
        f.release_date = f.release_date.take().or_else(|| t.release_date.clone());
        f.image_url = f.image_url.take().or_else(|| t.image_url.clone());
        f.match_keys.extend(keys.iter().cloned());
        let named = song_identity::Keys::of(&t.title, &t.artists);
        f.identity_keys.extend(named.identity);
        f.title_keys.extend(named.titles);
        f.near_keys.extend(named.near);
        f.titles.insert(normalize_text(&t.title));
    }
    let ids: Vec<Uuid> = merged.keys().copied().collect();
    let fills: Vec<&Fill> = merged.values().collect();
    let albums: Vec<Option<&str>> = fills.iter().map(|f| f.album.as_deref()).collect();
    let durations: Vec<Option<i32>> = fills.iter().map(|f| f.duration_ms).collect();
    let isrcs: Vec<Option<&str>> = fills.iter().map(|f| f.isrc.as_deref()).collect();
    let dates: Vec<Option<&str>> = fills.iter().map(|f| f.release_date.as_deref()).collect();
    let images: Vec<Option<&str>> = fills.iter().map(|f| f.image_url.as_deref()).collect();
    let keys: Vec<Json<&BTreeSet<String>>> = fills.iter().map(|f| Json(&f.match_keys)).collect();
    let identities: Vec<Json<&BTreeSet<String>>> =
        fills.iter().map(|f| Json(&f.identity_keys)).collect();
    let titles: Vec<Json<&BTreeSet<String>>> = fills.iter().map(|f| Json(&f.titles)).collect();
    let title_keys: Vec<Json<&BTreeSet<String>>> =
        fills.iter().map(|f| Json(&f.title_keys)).collect();
    let near_keys: Vec<Json<&BTreeSet<String>>> =
        fills.iter().map(|f| Json(&f.near_keys)).collect();
    sqlx::query(
        "UPDATE tracks t SET
             album = COALESCE(t.album, u.album),
             duration_ms = COALESCE(t.duration_ms, u.duration_ms),
             isrc = COALESCE(t.isrc, u.isrc),
             release_date = COALESCE(t.release_date, u.release_date),
             image_url = COALESCE(t.image_url, u.image_url),
             match_keys = ARRAY(SELECT DISTINCT k FROM unnest(t.match_keys
                 || ARRAY(SELECT jsonb_array_elements_text(u.match_keys))) AS k),
             identity_keys = ARRAY(SELECT DISTINCT k FROM unnest(t.identity_keys
                 || ARRAY(SELECT jsonb_array_elements_text(u.identity_keys))) AS k),
             title_keys = ARRAY(SELECT DISTINCT k FROM unnest(t.title_keys
                 || ARRAY(SELECT jsonb_array_elements_text(u.title_keys))) AS k),
             near_keys = ARRAY(SELECT DISTINCT k FROM unnest(t.near_keys
                 || ARRAY(SELECT jsonb_array_elements_text(u.near_keys))) AS k),
             search_text = left(t.search_text || COALESCE((
                 SELECT string_agg(' ' || x, '') FROM jsonb_array_elements_text(u.titles) AS x
                 WHERE strpos(t.search_text, x) = 0), ''), 2000),
             updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[],
                     $7::jsonb[], $8::jsonb[], $9::jsonb[], $10::jsonb[], $11::jsonb[])
              AS u(id, album, duration_ms, isrc, release_date, image_url, match_keys,
                   identity_keys, titles, title_keys, near_keys)
         WHERE t.id = u.id",
    )
    .bind(&ids)
    .bind(&albums)
    .bind(&durations)
    .bind(&isrcs)
    .bind(&dates)
    .bind(&images)
    .bind(&keys)
    .bind(&identities)
    .bind(&titles)
    .bind(&title_keys)
    .bind(&near_keys)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_links(
    tx: &mut Transaction<'_, Postgres>,
    new_links: &[(&ProviderTrack, Uuid)],
) -> Result<(), sqlx::Error> {
    if new_links.is_empty() {
        return Ok(());
    }
    let providers: Vec<&str> = new_links.iter().map(|(t, _)| t.provider.as_str()).collect();
    let provider_ids: Vec<&str> = new_links
        .iter()
        .map(|(t, _)| t.provider_id.as_str())
        .collect();
    let track_ids: Vec<Uuid> = new_links.iter().map(|(_, id)| *id).collect();
    let urls: Vec<&str> = new_links.iter().map(|(t, _)| t.url.as_str()).collect();
    sqlx::query(
        "INSERT INTO track_links (provider, provider_id, track_id, url)
         SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[])
         ON CONFLICT (provider, provider_id) DO NOTHING",
    )
    .bind(&providers)
    .bind(&provider_ids)
    .bind(&track_ids)
    .bind(&urls)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A track as a query reads it: a row of [`TRACK_COLUMNS`], or an object of [`RESULTS_JSON`].
#[derive(Debug, sqlx::FromRow, serde::Deserialize)]
pub(crate) struct TrackRow {
    id: Uuid,
    title: String,
    artists: Vec<String>,
    album: Option<String>,
    duration_ms: Option<i32>,
    isrc: Option<String>,
    release_date: Option<String>,
    image_url: Option<String>,
    links: sqlx::types::Json<BTreeMap<String, String>>,
}

impl From<TrackRow> for Track {
    fn from(r: TrackRow) -> Track {
        Track {
            id: r.id,
            title: r.title,
            artists: r.artists,
            album: r.album,
            duration_ms: r.duration_ms,
            isrc: r.isrc,
            release_date: r.release_date,
            image_url: r.image_url,
            links: r
                .links
                .0
                .into_iter()
                .filter_map(|(p, url)| p.parse::<ProviderName>().ok().map(|p| (p, url)))
                .collect(),
        }
    }
}

/// The links of track `t` as one JSON object, provider to URL (`{}` for none): the
/// `links` of [`TRACK_COLUMNS`] and [`TRACK_JSON`]. A macro so that both stay `const`.
macro_rules! track_links {
    () => {
        "COALESCE((SELECT jsonb_object_agg(l.provider, l.url) FROM track_links l
                   WHERE l.track_id = t.id), '{}'::jsonb)"
    };
}

/// Columns of a track with its links aggregated, for queries that join `tracks t`.
const TRACK_COLUMNS: &str = concat!(
    "t.id, t.title, t.artists, t.album, t.duration_ms, t.isrc, t.release_date, t.image_url, ",
    track_links!(),
    " AS links"
);

/// One track `t` as a JSON object of [`TrackRow`]'s fields, its links aggregated.
const TRACK_JSON: &str = concat!(
    "jsonb_build_object(
        'id', t.id, 'title', t.title, 'artists', t.artists, 'album', t.album,
        'duration_ms', t.duration_ms, 'isrc', t.isrc, 'release_date', t.release_date,
        'image_url', t.image_url, 'links', ",
    track_links!(),
    ")"
);

/// The ordered results of the search `s` as one JSON array, a column of a query that selects
/// from `searches s`: a search and its answer in one round trip. Read with [`from_results`].
pub(crate) static RESULTS_JSON: LazyLock<String> = LazyLock::new(|| {
    format!(
        "(SELECT COALESCE(jsonb_agg({TRACK_JSON} ORDER BY r.position), '[]')
         FROM search_results r JOIN tracks t ON t.id = r.track_id WHERE r.search_id = s.id)"
    )
});

/// Like [`RESULTS_JSON`], for the tracks whose ids the parameter `ids` (a `uuid[]`) lists, in
/// that order: the results of an answer being written, before its result list is readable.
/// Each track is read by its key (a join leaves the planner, which cannot see how few ids
/// there are, free to scan the whole catalog).
pub(crate) fn listed_json(ids: &str) -> String {
    format!(
        "(SELECT COALESCE(jsonb_agg((SELECT {TRACK_JSON} FROM tracks t WHERE t.id = r.track_id)
                                    ORDER BY r.position), '[]')
         FROM unnest({ids}::uuid[]) WITH ORDINALITY AS r(track_id, position))"
    )
}

/// The tracks of a [`RESULTS_JSON`] column, in order.
pub(crate) fn from_results(results: Json<Vec<TrackRow>>) -> Vec<Track> {
    results.0.into_iter().map(Track::from).collect()
}

/// The ordered results of a search.
pub async fn for_search(
    executor: impl PgExecutor<'_>,
    search_id: Uuid,
) -> Result<Vec<Track>, sqlx::Error> {
    let sql = format!(
        "SELECT {TRACK_COLUMNS} FROM search_results r JOIN tracks t ON t.id = r.track_id
         WHERE r.search_id = $1 ORDER BY r.position"
    );
    let rows: Vec<TrackRow> = sqlx::query_as(&sql)
        .bind(search_id)
        .fetch_all(executor)
        .await?;
    Ok(rows.into_iter().map(Track::from).collect())
}

/// Tracks the index finds for a query key: the key among their identity or title keys, or its
/// [`song_identity::probe`] meeting their near keys (the migration's `catalog_key_hits`, which
/// keeps the lookup on the indexes whatever the catalog's size). Exact
/// identity, then exact title matches come first, then those with more provider links; each
/// with its keys and demand (earlier answers including it, counted up to `demand_cap`) for
/// [`crate::domain::catalog_match::choose`].
pub async fn candidates(
    executor: impl PgExecutor<'_>,
    query_key: &str,
    limit: i64,
    demand_cap: i64,
) -> Result<Vec<(Track, Candidate)>, sqlx::Error> {
    static CANDIDATES: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {}", candidates_json("$1", "$2", "$3", "$4")));
    let rows: Json<Vec<CandidateRow>> = sqlx::query_scalar(CANDIDATES.as_str())
        .bind(song_identity::probe(query_key))
        .bind(query_key)
        .bind(limit)
        .bind(demand_cap)
        .fetch_one(executor)
        .await?;
    Ok(from_candidates(rows))
}

/// [`candidates`] as one JSON array, an SQL expression another query can carry (read with
/// [`from_candidates`]); its arguments name the parameters holding the probe, the query's
/// key, the limit and the demand cap.
pub(crate) fn candidates_json(probe: &str, key: &str, limit: &str, demand_cap: &str) -> String {
    format!(
        "(SELECT COALESCE(jsonb_agg(c.track || jsonb_build_object(
                 'identity_keys', c.identity_keys, 'title_keys', c.title_keys,
                 'demand', c.demand) ORDER BY c.rank), '[]')
          FROM (SELECT {TRACK_JSON} AS track, t.identity_keys, t.title_keys,
                       (SELECT count(*) FROM (SELECT 1 FROM search_results r
                                              WHERE r.track_id = t.id LIMIT {demand_cap}) AS d)
                           AS demand,
                       row_number() OVER (
                           ORDER BY t.identity_keys @> ARRAY[{key}::text] DESC,
                                    t.title_keys @> ARRAY[{key}::text] DESC,
                                    (SELECT count(*) FROM track_links l WHERE l.track_id = t.id)
                                        DESC,
                                    t.created_at) AS rank
                FROM tracks t
                WHERE t.id IN (SELECT catalog_key_hits({probe}, {key}))
                ORDER BY rank
                LIMIT {limit}) AS c)"
    )
}

/// The tracks of a [`candidates_json`] column, in order, each with what matching needs.
pub(crate) fn from_candidates(rows: Json<Vec<CandidateRow>>) -> Vec<(Track, Candidate)> {
    rows.0
        .into_iter()
        .map(|r| {
            let candidate = Candidate {
                identity_keys: r.identity_keys,
                title_keys: r.title_keys,
                demand: r.demand,
            };
            (Track::from(r.track), candidate)
        })
        .collect()
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct CandidateRow {
    #[serde(flatten)]
    track: TrackRow,
    identity_keys: Vec<String>,
    title_keys: Vec<String>,
    demand: i64,
}

/// One track by id.
pub async fn get(executor: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Track>, sqlx::Error> {
    let sql = format!("SELECT {TRACK_COLUMNS} FROM tracks t WHERE t.id = $1");
    let row: Option<TrackRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(executor)
        .await?;
    Ok(row.map(Track::from))
}

/// Catalog search: tracks whose `search_text` resembles `normalized` (trigram similarity,
/// `pg_trgm`'s `%`) or contains it, with or without spaces ("좋은날" finds "좋은 날"). Ranked:
/// tracks the query names exactly (title and artist), then exact title matches, then the most
/// similar. Every condition uses a trigram index. `normalized` must come from
/// [`normalize_text`], which leaves no `%` or `_` to act as `LIKE` wildcards.
pub async fn search(
    executor: impl PgExecutor<'_>,
    normalized: &str,
    limit: i64,
) -> Result<Vec<Track>, sqlx::Error> {
    let sql = format!(
        "SELECT {TRACK_COLUMNS} FROM tracks t
         WHERE t.search_text % $1 OR t.search_text LIKE '%' || $1 || '%'
            OR replace(t.search_text, ' ', '') LIKE '%' || $2 || '%'
         ORDER BY t.identity_keys @> ARRAY[$2] DESC,
                  EXISTS (SELECT 1 FROM unnest(t.match_keys) AS k
                          WHERE split_part(k, chr(31), 1) = $1) DESC,
                  similarity(t.search_text, $1) DESC,
                  t.id
         LIMIT $3"
    );
    let rows: Vec<TrackRow> = sqlx::query_as(&sql)
        .bind(normalized)
        .bind(song_identity::query_identity(normalized))
        .bind(limit)
        .fetch_all(executor)
        .await?;
    Ok(rows.into_iter().map(Track::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_key_ignores_case_spacing_and_punctuation() {
        let a = match_key("Good  Day", &["IU".to_string()]);
        let b = match_key("good day!", &["iu".to_string(), "Other".to_string()]);
        assert_eq!(a, b);
        assert_ne!(a, match_key("Good Day", &["Someone Else".to_string()]));
    }

    #[test]
    fn search_text_holds_title_and_all_artists() {
        let text = search_text("좋은 날", &["IU".into(), "Feat. X".into()]);
        assert_eq!(text, "좋은 날 iu feat x");
    }
}
