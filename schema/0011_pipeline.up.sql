-- The AI pipeline's record: every run (a public assistant reply, a coaching turn, a practice
-- assessment, ...), what happened inside it (stage and tool events, written in one batch when
-- the run ends, never per token) and every provider call it made, for the admin endpoints.

CREATE TABLE pipeline_runs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- the caller; NULL for an anonymous visitor of the public assistant
    user_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    kind            text NOT NULL CHECK (kind IN ('public_chat', 'coach_chat', 'practice', 'assessment',
                                                  'planner', 'crm_chat', 'voice')),
    status          text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    provider        text CHECK (char_length(provider) <= 64),
    model           text CHECK (char_length(model) <= 200),
    -- what the run answers: a session or a conversation (no foreign key: history outlives them)
    subject_id      uuid,
    started_at      timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz,
    latency_ms      int CHECK (latency_ms >= 0),
    ttft_ms         int CHECK (ttft_ms >= 0),
    tokens_in       int NOT NULL DEFAULT 0 CHECK (tokens_in >= 0),
    tokens_out      int NOT NULL DEFAULT 0 CHECK (tokens_out >= 0),
    error           text CHECK (char_length(error) <= 500),
    CONSTRAINT pipeline_runs_ended_check CHECK ((status = 'running') = (ended_at IS NULL))
);
-- GET /admin/pipeline-runs: the organization's newest first, with ?status= and ?kind=
CREATE INDEX pipeline_runs_org_started_idx ON pipeline_runs (organization_id, started_at DESC, id DESC);
-- the per-organization quota counts the last hour's runs
CREATE INDEX pipeline_runs_org_recent_idx ON pipeline_runs (organization_id, started_at);

CREATE TABLE pipeline_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id     uuid NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    seq        int NOT NULL CHECK (seq >= 0),
    type       text NOT NULL CHECK (char_length(type) BETWEEN 1 AND 64),
    data       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    at         timestamptz NOT NULL,
    UNIQUE (run_id, seq)
);

CREATE TABLE provider_calls (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      uuid NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    seq         int NOT NULL CHECK (seq >= 0),
    provider    text NOT NULL CHECK (char_length(provider) <= 64),
    model       text NOT NULL CHECK (char_length(model) <= 200),
    status      text NOT NULL CHECK (status IN ('succeeded', 'failed', 'cancelled')),
    http_status int,
    started_at  timestamptz NOT NULL,
    latency_ms  int NOT NULL CHECK (latency_ms >= 0),
    ttft_ms     int CHECK (ttft_ms >= 0),
    tokens_in   int NOT NULL DEFAULT 0 CHECK (tokens_in >= 0),
    tokens_out  int NOT NULL DEFAULT 0 CHECK (tokens_out >= 0),
    error       text CHECK (char_length(error) <= 500),
    UNIQUE (run_id, seq)
);

-- Public chat: a visitor's retry of a message with the same idempotency key replays the first
-- answer (the message as stored) instead of adding another; the key is per conversation.
ALTER TABLE conversation_messages
    ADD COLUMN idempotency_key text CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    ADD COLUMN run_id uuid;
CREATE UNIQUE INDEX conversation_messages_idem_idx ON conversation_messages (conversation_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
