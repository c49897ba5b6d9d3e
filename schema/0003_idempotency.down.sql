-- Reverts 0003_idempotency. Later migrations' triggers went with their tables; these are the
-- ones 0003 put on the tables of 0001 and 0002.
DROP TABLE IF EXISTS idempotency_keys;
DROP TRIGGER IF EXISTS user_profiles_set_updated_at ON user_profiles;
DROP TRIGGER IF EXISTS users_set_updated_at ON users;
DROP TRIGGER IF EXISTS organizations_set_updated_at ON organizations;
DROP FUNCTION IF EXISTS set_updated_at();
