-- Two things every later migration leans on: the updated_at trigger, and the store behind the
-- Idempotency-Key header.

-- updated_at belongs to the database, so that no statement has to remember it and none can get
-- it wrong: a BEFORE UPDATE trigger sets it to now() when any other column really changes, and
-- puts the old value back when none does, whatever the statement wrote into it. So a PATCH that
-- changes nothing (or an upsert's DO UPDATE that is a no-op) leaves updated_at as it was, as
-- docs/api.md promises, even when the statement says SET updated_at = now().
-- Attached as BEFORE UPDATE ... FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*), which skips
-- rows rewritten with identical values without calling the function at all.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := OLD.updated_at;
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

-- The tables of 0001 and 0002 get it too, so the rule holds everywhere (their statements already
-- set updated_at only on a real change, which the trigger agrees with).
CREATE TRIGGER organizations_set_updated_at BEFORE UPDATE ON organizations
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER user_profiles_set_updated_at BEFORE UPDATE ON user_profiles
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- Idempotency-Key (any POST): a retry with the same key by the same principal within 24 h gets
-- the first response again; the same key with another request is a 409. The row is inserted with
-- status NULL before the work (the primary key makes a concurrent retry wait or conflict instead
-- of doing the work twice) and completed with the response after it; a request that fails
-- before it has a response deletes its row, so that a retry can do the work.
--
-- user_id is the principal, deliberately not a foreign key: a public-chat visitor has no users
-- row, and uses its conversation's id here. Keys are purged by expiry, not by cascade.
CREATE TABLE idempotency_keys (
    user_id           uuid NOT NULL,
    -- the organization the principal acted in: one user in two organizations is two principals
    organization_id   uuid NOT NULL,
    key               text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    method            text NOT NULL CHECK (method ~ '^[A-Z]{1,16}$'),
    path              text NOT NULL CHECK (path <> ''),
    -- digest of what makes two requests "the same" (method, path, body): a replay must match it
    request_hash      bytea NOT NULL CHECK (octet_length(request_hash) BETWEEN 1 AND 64),
    -- NULL while the first request is still being worked on
    status            int CHECK (status BETWEEN 100 AND 599),
    response_body     text,
    response_location text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (user_id, organization_id, key),
    -- a response is stored only together with its status
    CONSTRAINT idempotency_keys_response_check
        CHECK (status IS NOT NULL OR (response_body IS NULL AND response_location IS NULL)),
    CONSTRAINT idempotency_keys_expiry_check CHECK (expires_at > created_at)
);

-- The purge: DELETE FROM idempotency_keys WHERE expires_at < now()
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
