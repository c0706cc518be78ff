-- The newest version of each S3 key the ingest function has written rows for, by S3's sequencer (which
-- orders the events of one key). Claimed, under a row lock, in the transaction of every batch of rows:
-- an older version whose event arrives after a newer one's writes nothing. Keyed by a hash of bucket and key.
CREATE TABLE IF NOT EXISTS ingested_keys (
  key_hash CHAR(64) CHARACTER SET ascii NOT NULL,
  bucket VARCHAR(63) CHARACTER SET ascii NOT NULL,
  object_key VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  sequencer VARCHAR(64) CHARACTER SET ascii NOT NULL,
  object_version VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (key_hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
