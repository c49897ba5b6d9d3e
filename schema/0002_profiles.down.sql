-- Reverts 0002_profiles.
DROP TABLE IF EXISTS user_profiles;
DROP FUNCTION IF EXISTS user_profiles_social_links_ok(jsonb);
