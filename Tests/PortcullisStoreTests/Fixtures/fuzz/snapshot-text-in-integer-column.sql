-- Found by Fuzz/fuzz-snapshot (bench/fuzz.sh): a snapshot header whose
-- counts hold text. SQLite keeps text that does not read as a number in an
-- INTEGER column; the store's former SQLite library stopped the process on it
-- ("could not decode Int from database value "host"").
UPDATE snapshot SET listener_count = 'host', finding_count = 'fuzz' WHERE id = 1;
