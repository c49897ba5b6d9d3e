-- The CRM assistant: contacts, the background task queue, memory rules (what to do when a
-- webhook event arrives), integrations (which organization an external account's events belong
-- to) and the record of webhook deliveries that makes replays harmless.

-- Contacts, typed in by hand or synced from HubSpot and Gmail. external_id is the source's id:
-- unique per organization and source, so a sync upserts with
-- ON CONFLICT (organization_id, source, external_id). NULLs never collide, so manual contacts
-- (no external_id) are not constrained by it.
CREATE TABLE contacts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- only bounded: synced data is taken as the source has it
    email           text CHECK (char_length(email) BETWEEN 1 AND 320),
    name            text CHECK (char_length(name) BETWEEN 1 AND 200),
    company         text CHECK (char_length(company) BETWEEN 1 AND 200),
    phone           text CHECK (char_length(phone) BETWEEN 1 AND 50),
    source          text NOT NULL DEFAULT 'manual' CHECK (source IN ('hubspot', 'gmail', 'manual')),
    external_id     text CHECK (char_length(external_id) BETWEEN 1 AND 255),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, source, external_id)
);
CREATE INDEX contacts_org_created_idx ON contacts (organization_id, created_at DESC, id DESC);
-- "who is this sender?" from a Gmail event or the assistant's tools, whatever the case
CREATE INDEX contacts_org_email_idx ON contacts (organization_id, lower(email)) WHERE email IS NOT NULL;
CREATE TRIGGER contacts_set_updated_at BEFORE UPDATE ON contacts
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- Background tasks: enqueued by POST /tasks (user_id: who) or by memory rules (user_id NULL),
-- run by workers that claim one with
--   UPDATE ... SET status = 'in_progress', locked_at = now(), locked_by = $me, attempts = attempts + 1
--   WHERE id = (SELECT id FROM tasks WHERE status = 'pending' AND run_after <= now()
--               ORDER BY run_after LIMIT 1 FOR UPDATE SKIP LOCKED)
-- A type no worker knows fails at run time (last_error), so type is only checked for shape.
CREATE TABLE tasks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    type            text NOT NULL CHECK (type ~ '^[a-z0-9_.]{1,64}$'),
    payload         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'in_progress', 'done', 'failed')),
    attempts        int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text,
    run_after       timestamptz NOT NULL DEFAULT now(),
    result          jsonb,
    locked_at       timestamptz,
    locked_by       text CHECK (char_length(locked_by) <= 200),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- a claimed task says since when, so that a dead worker's claim can be taken back
    CONSTRAINT tasks_locked_check CHECK (status <> 'in_progress' OR locked_at IS NOT NULL)
);
CREATE INDEX tasks_org_created_idx ON tasks (organization_id, created_at DESC, id DESC);
-- the worker's claim: due pending tasks, oldest due first
CREATE INDEX tasks_pending_run_after_idx ON tasks (run_after) WHERE status = 'pending';
-- taking back claims that have been held too long
CREATE INDEX tasks_in_progress_locked_idx ON tasks (locked_at) WHERE status = 'in_progress';
CREATE TRIGGER tasks_set_updated_at BEFORE UPDATE ON tasks
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- Memory rules: "when <event_type> then <action> [k=v ...]" as written, and parsed by the API
-- (parsed is what the webhook path evaluates; rule is what the user sees and edits).
-- An organization has few; its active ones are read through the organization's index.
CREATE TABLE memory_rules (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    rule            text NOT NULL CHECK (char_length(rule) BETWEEN 1 AND 1000),
    parsed          jsonb NOT NULL CHECK (jsonb_typeof(parsed) = 'object'),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX memory_rules_org_created_idx ON memory_rules (organization_id, created_at DESC, id DESC);
CREATE TRIGGER memory_rules_set_updated_at BEFORE UPDATE ON memory_rules
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- Integrations route webhook events: a HubSpot portal id, a Gmail address or a Calendar channel
-- id belongs to one organization (and optionally one of its members), whichever organization
-- registered it first. The member reference goes through the membership, so it can only name
-- a member of the same organization, and is cleared when they leave it.
CREATE TABLE integrations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid,
    provider        text NOT NULL CHECK (provider IN ('hubspot', 'gmail', 'calendar')),
    account_id      text NOT NULL CHECK (char_length(account_id) BETWEEN 1 AND 320),
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- also the webhook path's lookup
    UNIQUE (provider, account_id),
    FOREIGN KEY (organization_id, user_id) REFERENCES organization_memberships (organization_id, user_id)
        ON DELETE SET NULL (user_id)
);
CREATE INDEX integrations_org_created_idx ON integrations (organization_id, created_at DESC, id DESC);

-- Webhook deliveries already accepted, so that a replay is answered 200 and does nothing: the
-- event id is HubSpot's eventId, Pub/Sub's messageId, or Calendar's channel id + message number.
-- The insert (ON CONFLICT DO NOTHING) and the event's effects share a transaction. organization_id
-- is the one the event was routed to (NULL: no integration matched).
CREATE TABLE webhook_events (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider        text NOT NULL CHECK (provider IN ('hubspot', 'gmail', 'calendar')),
    event_id        text NOT NULL CHECK (char_length(event_id) BETWEEN 1 AND 512),
    organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
    -- as memory rules see it, e.g. hubspot.contact.creation
    event_type      text NOT NULL CHECK (char_length(event_type) BETWEEN 1 AND 200),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, event_id)
);
-- purging old deliveries, and the organization's cascade
CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);
CREATE INDEX webhook_events_org_idx ON webhook_events (organization_id) WHERE organization_id IS NOT NULL;
