-- Reverts 0005_sailwind: children before parents (indexes and triggers go with their tables).
DROP TABLE IF EXISTS skill_assessments;
DROP TABLE IF EXISTS user_skills;
DROP TABLE IF EXISTS skills;
DROP TABLE IF EXISTS rep_assignments;
DROP TABLE IF EXISTS strategies;
DROP TABLE IF EXISTS products;
DROP TABLE IF EXISTS clients;
DROP TABLE IF EXISTS product_archetypes;
DROP TABLE IF EXISTS client_archetypes;
DROP FUNCTION IF EXISTS strategies_objections_ok(jsonb);
DROP FUNCTION IF EXISTS archetypes_traits_ok(jsonb);
-- Without CASCADE: if something outside this migration has come to use pg_trgm since, this
-- fails (and the whole down with it) rather than dropping that too.
DROP EXTENSION IF EXISTS pg_trgm;
