-- A user's own profile (GET/PATCH /api/v1/profile): one row per user, created by the first PATCH.
-- The CHECKs mirror the API's validation (pipeline/validate.c tables in handlers/profile.c), so a
-- write that bypasses the API cannot store what the API would refuse.

-- social_links: an object of at most 20 members whose values are strings of at most 2048
-- characters. A function, because a CHECK cannot hold a subquery.
CREATE FUNCTION user_profiles_social_links_ok(links jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(links) = 'object' THEN
        (SELECT count(*) <= 20 AND coalesce(bool_and(jsonb_typeof(value) = 'string'
                                               AND char_length(value #>> '{}') <= 2048), true)
         FROM jsonb_each(links))
    ELSE false END
$$;

CREATE TABLE user_profiles (
    user_id         uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    display_name    text CHECK (char_length(display_name) <= 100),
    business_name   text CHECK (char_length(business_name) <= 100),
    tagline         text CHECK (char_length(tagline) <= 200),
    bio             text CHECK (char_length(bio) <= 2000),
    phone           text CHECK (phone ~ '^\+?[0-9 ()-]{7,20}$'),
    website         text CHECK (char_length(website) <= 2048
                                AND website ~* '^https?://[^/?#\x01-\x20\x7f]+([/?#][^\x01-\x20\x7f]*)?$'),
    social_links    jsonb NOT NULL DEFAULT '{}' CHECK (user_profiles_social_links_ok(social_links)),
    -- an IANA name's shape; that the zone exists is checked by the API against the zone files
    timezone        text NOT NULL DEFAULT 'UTC'
                    CHECK (char_length(timezone) <= 64
                           AND timezone ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z][A-Za-z0-9_+-]*)*$'),
    setup_completed boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
