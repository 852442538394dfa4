"""The ceilings the figures are measured against (reliability.md §4, Bitrix24 standard plan; 1C pool ÷
latency) and the targets of the issue."""

DRAIN = 2.0  # Bitrix24 requests/s
BURST = 50  # requests before the bucket blocks
ROWS_PER_READ = 50 * 50  # 50 list calls × 50 rows in one batch request
READ_CEILING = ROWS_PER_READ * DRAIN  # 5,000 rows/s
CMDS_PER_WRITE = 50
WRITE_CEILING = CMDS_PER_WRITE * DRAIN  # 100 commands/s
ONEC_LATENCY_MS = 20.0  # the 1C emulator's latency while the pool sizes are sampled

TARGET_READ, TARGET_WRITE, TARGET_ONEC = 0.90, 0.90, 0.80  # fractions of the ceilings
TARGET_NOCHANGE_CALLS = 5  # HTTP requests per system of a no-change run
TARGET_RSS_RATIO = 1.5  # peak RSS of the largest N ÷ the smallest
