-- One row per batch job: its lease (at most one run works at a time, claimed with a conditional UPDATE, which
-- RDS Proxy does not pin on as it does GET_LOCK) and its checkpoint (where the pass in progress has got to, so a
-- run stopped before its deadline is resumed by the next). The job's database user may only read and update it.
CREATE TABLE IF NOT EXISTS batch_jobs (
  job VARCHAR(64) CHARACTER SET ascii NOT NULL,
  -- The run that holds the lease, until lease_until (then any run may claim it: the holder died).
  lease_owner CHAR(36) CHARACTER SET ascii NULL,
  lease_until TIMESTAMP(3) NULL,
  -- The pass in progress: when it started (what it works as of) and the last key it has done; NULL between passes.
  pass_started_at TIMESTAMP(3) NULL,
  after_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  last_finished_at TIMESTAMP(3) NULL,
  PRIMARY KEY (job)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
INSERT IGNORE INTO batch_jobs (job) VALUES ('purge-items');
