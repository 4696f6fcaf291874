-- The per-day quota counts a source's requests accepted in the window. (No
-- lock table here: InsertWithin's IMMEDIATE transaction already holds the
-- database's write lock while it counts and records.)
CREATE INDEX requests_source_accepted_idx ON requests (source, accepted_at);
