-- Reverts 0011_pipeline.
DROP INDEX IF EXISTS conversation_messages_idem_idx;
ALTER TABLE conversation_messages DROP COLUMN IF EXISTS idempotency_key, DROP COLUMN IF EXISTS run_id;
DROP TABLE IF EXISTS provider_calls;
DROP TABLE IF EXISTS pipeline_events;
DROP TABLE IF EXISTS pipeline_runs;
