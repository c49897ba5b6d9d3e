-- The sales playbook (Sailwind), organization-scoped: archetypes (templates), clients, products,
-- strategies, which rep practises what (rep assignments), and the skills practice measures.
--
-- Cross-organization references are made impossible by the keys themselves: a parent that other
-- rows point at has UNIQUE (organization_id, id), and the child references (organization_id, x_id),
-- so a client can only name an archetype of its own organization whatever a statement does. An
-- optional reference that goes away is cleared with ON DELETE SET NULL (x_id), which leaves the
-- child's organization_id alone (PostgreSQL 15's column list).
--
-- Lists are newest first with keyset pagination, so each has an index on its scope followed by
-- (created_at DESC, id DESC).

-- ?q= on clients is a substring search on the name (ILIKE '%q%'), served by a trigram index.
-- pg_trgm is a trusted extension: the database owner may create it without being a superuser.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The JSON limits of the API's validation (handlers/sailwind.c), as functions because a CHECK
-- cannot hold a subquery. traits of archetypes: an object of at most 50 members (any values).
CREATE FUNCTION archetypes_traits_ok(traits jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(traits) = 'object' THEN
        (SELECT count(*) <= 50 FROM jsonb_object_keys(traits))
    ELSE false END
$$;

-- objections of strategies: an array of at most 50 strings of at most 500 characters.
CREATE FUNCTION strategies_objections_ok(objections jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(objections) = 'array' THEN
        jsonb_array_length(objections) <= 50
        AND (SELECT coalesce(bool_and(jsonb_typeof(value) = 'string'
                                      AND char_length(value #>> '{}') <= 500), true)
             FROM jsonb_array_elements(objections))
    ELSE false END
$$;

-- Archetypes: reusable descriptions of a kind of client or product (traits drive the role-play).
-- Hard-deleted; clients and products that used one keep existing without it.
CREATE TABLE client_archetypes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    traits          jsonb NOT NULL DEFAULT '{}' CHECK (archetypes_traits_ok(traits)),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id)
);
CREATE INDEX client_archetypes_org_created_idx ON client_archetypes (organization_id, created_at DESC, id DESC);
CREATE TRIGGER client_archetypes_set_updated_at BEFORE UPDATE ON client_archetypes
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

CREATE TABLE product_archetypes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    traits          jsonb NOT NULL DEFAULT '{}' CHECK (archetypes_traits_ok(traits)),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id)
);
CREATE INDEX product_archetypes_org_created_idx ON product_archetypes (organization_id, created_at DESC, id DESC);
CREATE TRIGGER product_archetypes_set_updated_at BEFORE UPDATE ON product_archetypes
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- Clients (the companies reps sell to). DELETE archives: archived_at is set, the row stays so
-- that assignments, strategies and past practice sessions still name it.
CREATE TABLE clients (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    industry        text CHECK (char_length(industry) <= 200),
    size            text CHECK (char_length(size) <= 50),
    notes           text CHECK (char_length(notes) <= 10000),
    archetype_id    uuid,
    archived_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, archetype_id) REFERENCES client_archetypes (organization_id, id)
        ON DELETE SET NULL (archetype_id)
);
-- the default list (archived ones hidden) and ?include_archived=true
CREATE INDEX clients_org_created_active_idx ON clients (organization_id, created_at DESC, id DESC)
    WHERE archived_at IS NULL;
CREATE INDEX clients_org_created_idx ON clients (organization_id, created_at DESC, id DESC);
-- ?q=: name ILIKE '%q%' (the organization is then a filter on the few rows that match)
CREATE INDEX clients_name_trgm_idx ON clients USING gin (name gin_trgm_ops);
-- deleting an archetype clears it on its clients without scanning the organization's clients
CREATE INDEX clients_archetype_idx ON clients (organization_id, archetype_id) WHERE archetype_id IS NOT NULL;
CREATE TRIGGER clients_set_updated_at BEFORE UPDATE ON clients
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- Products (what reps sell). DELETE archives, as for clients.
CREATE TABLE products (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    -- in the currency's minor unit; NULL when the product has no list price
    price_cents     bigint CHECK (price_cents BETWEEN 0 AND 1000000000000),
    currency        text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    archetype_id    uuid,
    archived_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, archetype_id) REFERENCES product_archetypes (organization_id, id)
        ON DELETE SET NULL (archetype_id)
);
CREATE INDEX products_org_created_active_idx ON products (organization_id, created_at DESC, id DESC)
    WHERE archived_at IS NULL;
CREATE INDEX products_org_created_idx ON products (organization_id, created_at DESC, id DESC);
CREATE INDEX products_archetype_idx ON products (organization_id, archetype_id) WHERE archetype_id IS NOT NULL;
CREATE TRIGGER products_set_updated_at BEFORE UPDATE ON products
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- Strategies: how to sell (a playbook and the objections to expect), generic or for a client
-- and/or a product. Not deleted through the API.
CREATE TABLE strategies (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    client_id       uuid,
    product_id      uuid,
    playbook        text NOT NULL DEFAULT '' CHECK (char_length(playbook) <= 20000),
    objections      jsonb NOT NULL DEFAULT '[]' CHECK (strategies_objections_ok(objections)),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, client_id) REFERENCES clients (organization_id, id)
        ON DELETE SET NULL (client_id),
    FOREIGN KEY (organization_id, product_id) REFERENCES products (organization_id, id)
        ON DELETE SET NULL (product_id)
);
CREATE INDEX strategies_org_created_idx ON strategies (organization_id, created_at DESC, id DESC);
CREATE TRIGGER strategies_set_updated_at BEFORE UPDATE ON strategies
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- Rep assignments: an admin asks a member to practise selling a product to a client (with a
-- strategy, optionally). The rep must be a member of the organization: the reference is to the
-- membership, so leaving the organization removes the user's assignments with it. Not edited.
CREATE TABLE rep_assignments (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL,
    client_id       uuid NOT NULL,
    product_id      uuid NOT NULL,
    strategy_id     uuid,
    -- the admin who assigned it; kept NULL once they have left the organization
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    -- one assignment per rep, client and product (a second POST is a 409)
    UNIQUE (user_id, client_id, product_id),
    FOREIGN KEY (organization_id, user_id) REFERENCES organization_memberships (organization_id, user_id)
        ON DELETE CASCADE,
    FOREIGN KEY (organization_id, client_id) REFERENCES clients (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, product_id) REFERENCES products (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, strategy_id) REFERENCES strategies (organization_id, id)
        ON DELETE SET NULL (strategy_id),
    FOREIGN KEY (organization_id, created_by) REFERENCES organization_memberships (organization_id, user_id)
        ON DELETE SET NULL (created_by)
);
-- GET /sailwind/my/rep-assignments: the caller's in their organization, newest first
CREATE INDEX rep_assignments_user_created_idx ON rep_assignments (organization_id, user_id, created_at DESC, id DESC);

-- Skills: global definitions (the same for every organization), e.g. discovery, closing.
CREATE TABLE skills (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key         text NOT NULL UNIQUE CHECK (key ~ '^[a-z0-9_]{1,64}$'),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A user's current level in each skill (GET /my/skills), moved by assessments.
CREATE TABLE user_skills (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    skill_id   uuid NOT NULL REFERENCES skills (id) ON DELETE CASCADE,
    level      int NOT NULL DEFAULT 0 CHECK (level BETWEEN 0 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, skill_id)
);
CREATE TRIGGER user_skills_set_updated_at BEFORE UPDATE ON user_skills
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- One scoring of one skill, usually at the end of a practice session. History: never edited.
CREATE TABLE skill_assessments (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the session assessed; its foreign key is added by 0006 (sessions come later). A deleted
    -- session leaves the assessment, unlinked.
    session_id uuid,
    skill_id   uuid NOT NULL REFERENCES skills (id) ON DELETE CASCADE,
    score      int NOT NULL CHECK (score BETWEEN 0 AND 100),
    feedback   text NOT NULL DEFAULT '' CHECK (char_length(feedback) <= 5000),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- "latest assessments" per skill for GET /my/skills, and the user's history newest first
CREATE INDEX skill_assessments_user_skill_idx ON skill_assessments (user_id, skill_id, created_at DESC, id DESC);
CREATE INDEX skill_assessments_user_created_idx ON skill_assessments (user_id, created_at DESC, id DESC);
