-- S3 object versions the ingest function has loaded, recorded in the transaction of their last batch:
-- a redelivered event for one of them changes nothing. Keyed by a hash, as keys and version ids are long.
CREATE TABLE IF NOT EXISTS ingested_objects (
  object_hash CHAR(64) CHARACTER SET ascii NOT NULL,
  bucket VARCHAR(63) CHARACTER SET ascii NOT NULL,
  object_key VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  object_version VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  lines_ok INT UNSIGNED NOT NULL,
  lines_bad INT UNSIGNED NOT NULL,
  ingested_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (object_hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
