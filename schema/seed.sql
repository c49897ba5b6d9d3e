-- Demo data, safe to run again and again: fixed ids, and each insert ON CONFLICT puts the demo
-- values back (touching the row only when they changed). Add new sections (clients, products, ...)
-- below, parents before children.

-- organizations
INSERT INTO organizations (id, external_id, name)
VALUES ('00000000-0000-4000-8000-000000000001', 'org_demo', 'Demo Sales Co')
ON CONFLICT (id) DO UPDATE
SET external_id = EXCLUDED.external_id, name = EXCLUDED.name, updated_at = now()
WHERE (organizations.external_id, organizations.name) IS DISTINCT FROM (EXCLUDED.external_id, EXCLUDED.name);

-- users
INSERT INTO users (id, external_id, email, name)
VALUES ('00000000-0000-4000-8000-000000000002', 'user_demo', 'demo@hellosales.dev', 'Demo Admin')
ON CONFLICT (id) DO UPDATE
SET external_id = EXCLUDED.external_id, email = EXCLUDED.email, name = EXCLUDED.name, updated_at = now()
WHERE (users.external_id, users.email, users.name) IS DISTINCT FROM (EXCLUDED.external_id, EXCLUDED.email, EXCLUDED.name);

-- organization memberships
INSERT INTO organization_memberships (organization_id, user_id, role)
VALUES ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', 'admin')
ON CONFLICT (organization_id, user_id) DO UPDATE
SET role = EXCLUDED.role
WHERE organization_memberships.role IS DISTINCT FROM EXCLUDED.role;
