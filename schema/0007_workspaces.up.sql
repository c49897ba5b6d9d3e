-- The scheduling assistant: each user's workspace (their public booking assistant), its services
-- and booking connectors, and the conversations anonymous visitors have with it. Owner-scoped:
-- only the workspace's owner reads or writes it; visitors reach a conversation with its token.

-- tags of conversations: at most 50, each 1-50 characters, no NULLs. A function, because a CHECK
-- cannot hold a subquery.
CREATE FUNCTION conversations_tags_ok(tags text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_ndims(tags), 1) = 1
       AND coalesce(cardinality(tags), 0) <= 50
       AND (SELECT coalesce(bool_and(t IS NOT NULL AND char_length(t) BETWEEN 1 AND 50), true) FROM unnest(tags) t)
$$;

-- One workspace per user, created by the first GET /workspaces/me. The handle is its public name
-- (public chat is opened with workspace_handle), unique across all organizations.
CREATE TABLE workspaces (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- lower case only, so plain UNIQUE is unique whatever the case a visitor types
    handle          text NOT NULL UNIQUE CHECK (char_length(handle) BETWEEN 3 AND 63
                                                AND handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    type            text NOT NULL DEFAULT 'individual' CHECK (type IN ('individual', 'business')),
    tone            text NOT NULL DEFAULT 'professional'
                    CHECK (tone IN ('professional', 'friendly', 'casual', 'formal')),
    -- an IANA name's shape, as in user_profiles; that the zone exists is checked by the API
    timezone        text NOT NULL DEFAULT 'UTC'
                    CHECK (char_length(timezone) <= 64
                           AND timezone ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z][A-Za-z0-9_+-]*)*$'),
    -- what the assistant knows; bounded only by the route's body limit (configurable), not here
    knowledge_base  text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER workspaces_set_updated_at BEFORE UPDATE ON workspaces
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- What can be booked, with how long it takes; the assistant lists the active ones.
CREATE TABLE workspace_services (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id     uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description      text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    duration_minutes int NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
    -- NULL: no price shown; the same bound as products' prices
    price_cents      bigint CHECK (price_cents BETWEEN 0 AND 1000000000000),
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workspace_services_ws_created_idx ON workspace_services (workspace_id, created_at DESC, id DESC);
CREATE TRIGGER workspace_services_set_updated_at BEFORE UPDATE ON workspace_services
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- Booking systems the assistant can hand a visitor to (e.g. {"link": "https://calendly.com/x"}).
-- Inactive unless the request says otherwise, so that a bare insert never breaks the rule below.
CREATE TABLE connectors (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    type         text NOT NULL CHECK (type IN ('calendly', 'square', 'agendapro')),
    config       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    active       boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connectors_ws_created_idx ON connectors (workspace_id, created_at DESC, id DESC);
-- At most one active connector per workspace: the API deactivates the others first (a unique
-- index is checked row by row, so deactivate in a statement before the one that activates).
-- It also finds the active connector for the assistant's booking tool.
CREATE UNIQUE INDEX connectors_one_active_idx ON connectors (workspace_id) WHERE active;
CREATE TRIGGER connectors_set_updated_at BEFORE UPDATE ON connectors
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- A visitor's conversation with a workspace's assistant (public chat, or another channel).
CREATE TABLE conversations (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id       uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    channel            text NOT NULL DEFAULT 'web'
                       CHECK (channel IN ('web', 'instagram', 'whatsapp', 'sms', 'messenger', 'chatgpt', 'phone')),
    visitor_name       text CHECK (char_length(visitor_name) BETWEEN 1 AND 100),
    -- a digest of the visitor_token handed out once at creation; the token itself is not kept
    visitor_token_hash bytea NOT NULL CHECK (octet_length(visitor_token_hash) BETWEEN 16 AND 64),
    tags               text[] NOT NULL DEFAULT '{}' CHECK (conversations_tags_ok(tags)),
    status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    time_saved_seconds int NOT NULL DEFAULT 0 CHECK (time_saved_seconds >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- GET /conversations newest first, unfiltered, ?status= and ?channel=; ?tag= through the GIN
-- index (tags @> ARRAY[$tag]), combined with the workspace's index by a bitmap AND.
CREATE INDEX conversations_ws_created_idx ON conversations (workspace_id, created_at DESC, id DESC);
CREATE INDEX conversations_ws_status_created_idx ON conversations (workspace_id, status, created_at DESC, id DESC);
CREATE INDEX conversations_ws_channel_created_idx ON conversations (workspace_id, channel, created_at DESC, id DESC);
CREATE INDEX conversations_tags_idx ON conversations USING gin (tags);
CREATE TRIGGER conversations_set_updated_at BEFORE UPDATE ON conversations
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- The messages of a conversation: a visitor's (1-4000 characters, as the API takes them) and
-- the assistant's replies, stored whole when complete. Never edited.
CREATE TABLE conversation_messages (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('visitor', 'assistant')),
    content         text NOT NULL,
    -- for an assistant reply, the visitor message it answers: unique, so that two streams of the
    -- same reply (a reconnecting client) store it once, and "is it already stored?" is one lookup
    reply_to        uuid REFERENCES conversation_messages (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversation_messages_content_check
        CHECK (CASE role WHEN 'visitor' THEN char_length(content) BETWEEN 1 AND 4000
                         ELSE char_length(content) <= 100000 END),
    CONSTRAINT conversation_messages_reply_to_check CHECK (role = 'assistant' OR reply_to IS NULL)
);
-- GET .../messages: oldest first, ?since= strictly after a time or a message
CREATE INDEX conversation_messages_conv_created_idx ON conversation_messages (conversation_id, created_at, id);
CREATE UNIQUE INDEX conversation_messages_reply_to_idx ON conversation_messages (reply_to) WHERE reply_to IS NOT NULL;
