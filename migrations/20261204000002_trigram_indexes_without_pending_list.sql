-- The trigram indexes of the catalog's text take their entries directly too, like the key
-- indexes (20261204000001). With a pending list, the insert that finds the list past its
-- limit (gin_pending_list_limit, 4 MB) merges all of it into the index inside its own
-- transaction: one worker storing an answer would pay for every insert since the last merge
-- while its search waits. Without one, each answer's tracks cost their own entries only.
ALTER INDEX tracks_search_text_trgm SET (fastupdate = off);
ALTER INDEX tracks_compact_text_trgm SET (fastupdate = off);
