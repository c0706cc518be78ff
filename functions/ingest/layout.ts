/** Objects written under this prefix of the data bucket are ingested; nothing else is. */
export const INCOMING_PREFIX = "incoming/";
/** Where the ingest function writes a result object per input object; the only place it may write. */
export const RESULTS_PREFIX = "results/";
