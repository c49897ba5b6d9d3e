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

-- Sales playbook (Sailwind) of the demo organization: archetypes, clients, products, a strategy
-- and an assignment of the demo admin. Ids 00000000-0000-4000-8000-0000000001xx.

-- client archetypes
INSERT INTO client_archetypes (id, organization_id, name, description, traits)
VALUES ('00000000-0000-4000-8000-000000000101', '00000000-0000-4000-8000-000000000001',
        'Cautious enterprise buyer',
        'A large company that buys through committees, security reviews and pilots.',
        '{"decision_speed": "slow", "risk_tolerance": "low", "stakeholders": 5}'),
       ('00000000-0000-4000-8000-000000000102', '00000000-0000-4000-8000-000000000001',
        'Fast-moving startup founder',
        'Decides alone and quickly, on a tight budget; wants results this month.',
        '{"decision_speed": "fast", "risk_tolerance": "high", "stakeholders": 1}')
ON CONFLICT (id) DO UPDATE
SET organization_id = EXCLUDED.organization_id, name = EXCLUDED.name, description = EXCLUDED.description,
    traits = EXCLUDED.traits, updated_at = now()
WHERE (client_archetypes.organization_id, client_archetypes.name, client_archetypes.description, client_archetypes.traits)
      IS DISTINCT FROM (EXCLUDED.organization_id, EXCLUDED.name, EXCLUDED.description, EXCLUDED.traits);

-- product archetypes
INSERT INTO product_archetypes (id, organization_id, name, description, traits)
VALUES ('00000000-0000-4000-8000-000000000111', '00000000-0000-4000-8000-000000000001',
        'Subscription software', 'Sold per seat and month; the buyer compares it with tools they already pay for.',
        '{"pricing": "per_seat", "sales_cycle_days": 30}'),
       ('00000000-0000-4000-8000-000000000112', '00000000-0000-4000-8000-000000000001',
        'Professional services', 'A fixed-scope project; the buyer weighs it against doing the work in-house.',
        '{"pricing": "per_project", "sales_cycle_days": 60}')
ON CONFLICT (id) DO UPDATE
SET organization_id = EXCLUDED.organization_id, name = EXCLUDED.name, description = EXCLUDED.description,
    traits = EXCLUDED.traits, updated_at = now()
WHERE (product_archetypes.organization_id, product_archetypes.name, product_archetypes.description, product_archetypes.traits)
      IS DISTINCT FROM (EXCLUDED.organization_id, EXCLUDED.name, EXCLUDED.description, EXCLUDED.traits);

-- clients
INSERT INTO clients (id, organization_id, name, industry, size, notes, archetype_id, archived_at)
VALUES ('00000000-0000-4000-8000-000000000121', '00000000-0000-4000-8000-000000000001',
        'Northwind Logistics', 'Logistics', '1000-5000',
        'Regional freight carrier; the VP of Sales wants new reps productive in half the time.',
        '00000000-0000-4000-8000-000000000101', NULL),
       ('00000000-0000-4000-8000-000000000122', '00000000-0000-4000-8000-000000000001',
        'Brightleaf Labs', 'Biotech', '11-50',
        'Founder-led sales; first two account executives start next month.',
        '00000000-0000-4000-8000-000000000102', NULL),
       ('00000000-0000-4000-8000-000000000123', '00000000-0000-4000-8000-000000000001',
        'Harbor Dental Group', 'Healthcare', '51-200',
        'Twelve clinics; front-desk staff handle upsells of whitening plans.', NULL, NULL)
ON CONFLICT (id) DO UPDATE
SET organization_id = EXCLUDED.organization_id, name = EXCLUDED.name, industry = EXCLUDED.industry,
    size = EXCLUDED.size, notes = EXCLUDED.notes, archetype_id = EXCLUDED.archetype_id,
    archived_at = EXCLUDED.archived_at, updated_at = now()
WHERE (clients.organization_id, clients.name, clients.industry, clients.size, clients.notes, clients.archetype_id,
       clients.archived_at)
      IS DISTINCT FROM (EXCLUDED.organization_id, EXCLUDED.name, EXCLUDED.industry, EXCLUDED.size, EXCLUDED.notes,
                        EXCLUDED.archetype_id, EXCLUDED.archived_at);

-- products
INSERT INTO products (id, organization_id, name, description, price_cents, currency, archetype_id, archived_at)
VALUES ('00000000-0000-4000-8000-000000000131', '00000000-0000-4000-8000-000000000001',
        'HelloSales Coach', 'AI role-play and coaching for every rep, per seat and month.', 4900, 'USD',
        '00000000-0000-4000-8000-000000000111', NULL),
       ('00000000-0000-4000-8000-000000000132', '00000000-0000-4000-8000-000000000001',
        'Sales Onboarding Sprint', 'Six weeks of playbook design and rep certification.', 1500000, 'USD',
        '00000000-0000-4000-8000-000000000112', NULL)
ON CONFLICT (id) DO UPDATE
SET organization_id = EXCLUDED.organization_id, name = EXCLUDED.name, description = EXCLUDED.description,
    price_cents = EXCLUDED.price_cents, currency = EXCLUDED.currency, archetype_id = EXCLUDED.archetype_id,
    archived_at = EXCLUDED.archived_at, updated_at = now()
WHERE (products.organization_id, products.name, products.description, products.price_cents, products.currency,
       products.archetype_id, products.archived_at)
      IS DISTINCT FROM (EXCLUDED.organization_id, EXCLUDED.name, EXCLUDED.description, EXCLUDED.price_cents,
                        EXCLUDED.currency, EXCLUDED.archetype_id, EXCLUDED.archived_at);

-- strategies
INSERT INTO strategies (id, organization_id, name, client_id, product_id, playbook, objections)
VALUES ('00000000-0000-4000-8000-000000000141', '00000000-0000-4000-8000-000000000001',
        'Land with a pilot', '00000000-0000-4000-8000-000000000121', '00000000-0000-4000-8000-000000000131',
        'Open with their ramp time. Propose a 30-day pilot with one team and agree on the success metric '
        'up front. Bring security documents to the second call, not the fifth.',
        '["We already have a training program", "Security review takes months", "No budget this quarter"]')
ON CONFLICT (id) DO UPDATE
SET organization_id = EXCLUDED.organization_id, name = EXCLUDED.name, client_id = EXCLUDED.client_id,
    product_id = EXCLUDED.product_id, playbook = EXCLUDED.playbook, objections = EXCLUDED.objections,
    updated_at = now()
WHERE (strategies.organization_id, strategies.name, strategies.client_id, strategies.product_id, strategies.playbook,
       strategies.objections)
      IS DISTINCT FROM (EXCLUDED.organization_id, EXCLUDED.name, EXCLUDED.client_id, EXCLUDED.product_id,
                        EXCLUDED.playbook, EXCLUDED.objections);

-- rep assignments
INSERT INTO rep_assignments (id, organization_id, user_id, client_id, product_id, strategy_id, created_by)
VALUES ('00000000-0000-4000-8000-000000000151', '00000000-0000-4000-8000-000000000001',
        '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000121',
        '00000000-0000-4000-8000-000000000131', '00000000-0000-4000-8000-000000000141',
        '00000000-0000-4000-8000-000000000002')
ON CONFLICT (id) DO UPDATE
SET organization_id = EXCLUDED.organization_id, user_id = EXCLUDED.user_id, client_id = EXCLUDED.client_id,
    product_id = EXCLUDED.product_id, strategy_id = EXCLUDED.strategy_id, created_by = EXCLUDED.created_by
WHERE (rep_assignments.organization_id, rep_assignments.user_id, rep_assignments.client_id,
       rep_assignments.product_id, rep_assignments.strategy_id, rep_assignments.created_by)
      IS DISTINCT FROM (EXCLUDED.organization_id, EXCLUDED.user_id, EXCLUDED.client_id, EXCLUDED.product_id,
                        EXCLUDED.strategy_id, EXCLUDED.created_by);

-- practice sessions: the demo admin has role-played the assignment above once (scored)
INSERT INTO sessions (id, organization_id, user_id, kind, status, client_id, product_id, strategy_id, assignment_id,
                      score, created_at, ended_at)
VALUES ('00000000-0000-4000-8000-000000000152', '00000000-0000-4000-8000-000000000001',
        '00000000-0000-4000-8000-000000000002', 'practice', 'completed', '00000000-0000-4000-8000-000000000121',
        '00000000-0000-4000-8000-000000000131', '00000000-0000-4000-8000-000000000141',
        '00000000-0000-4000-8000-000000000151', 78, '2026-01-15T10:00:00Z', '2026-01-15T10:30:00Z')
ON CONFLICT (id) DO UPDATE
SET organization_id = EXCLUDED.organization_id, user_id = EXCLUDED.user_id, kind = EXCLUDED.kind,
    status = EXCLUDED.status, client_id = EXCLUDED.client_id, product_id = EXCLUDED.product_id,
    strategy_id = EXCLUDED.strategy_id, assignment_id = EXCLUDED.assignment_id, score = EXCLUDED.score,
    ended_at = EXCLUDED.ended_at, updated_at = now()
WHERE (sessions.organization_id, sessions.user_id, sessions.kind, sessions.status, sessions.client_id,
       sessions.product_id, sessions.strategy_id, sessions.assignment_id, sessions.score, sessions.ended_at)
      IS DISTINCT FROM (EXCLUDED.organization_id, EXCLUDED.user_id, EXCLUDED.kind, EXCLUDED.status, EXCLUDED.client_id,
                        EXCLUDED.product_id, EXCLUDED.strategy_id, EXCLUDED.assignment_id, EXCLUDED.score,
                        EXCLUDED.ended_at);

-- skills (global definitions, not the demo organization's)
INSERT INTO skills (id, key, name, description)
VALUES ('00000000-0000-4000-8000-000000000161', 'discovery', 'Discovery',
        'Asking the questions that uncover the buyer''s situation, pain and priorities.'),
       ('00000000-0000-4000-8000-000000000162', 'objection_handling', 'Objection handling',
        'Acknowledging a concern, finding what is behind it and answering that.'),
       ('00000000-0000-4000-8000-000000000163', 'closing', 'Closing',
        'Asking for the commitment and agreeing on concrete next steps.'),
       ('00000000-0000-4000-8000-000000000164', 'rapport', 'Rapport',
        'Building trust: listening, mirroring the buyer''s language, being genuine.'),
       ('00000000-0000-4000-8000-000000000165', 'product_knowledge', 'Product knowledge',
        'Explaining what the product does and why it matters to this buyer, accurately.')
ON CONFLICT (id) DO UPDATE
SET key = EXCLUDED.key, name = EXCLUDED.name, description = EXCLUDED.description
WHERE (skills.key, skills.name, skills.description) IS DISTINCT FROM (EXCLUDED.key, EXCLUDED.name, EXCLUDED.description);

-- Scheduling assistant: the demo admin's workspace, its services and its booking connector.

-- workspaces
INSERT INTO workspaces (id, organization_id, user_id, name, handle, type, tone, timezone, knowledge_base)
VALUES ('00000000-0000-4000-8000-000000000171', '00000000-0000-4000-8000-000000000001',
        '00000000-0000-4000-8000-000000000002', 'Demo Sales Co', 'demo', 'business', 'friendly', 'UTC',
        'Demo Sales Co helps small sales teams ramp faster with AI role-play and coaching. '
        'We are open Monday to Friday, 9:00-17:00 UTC. A discovery call is free; coaching sessions '
        'are paid per session. Book through the Calendly link; we answer messages within one business day.')
ON CONFLICT (id) DO UPDATE
SET organization_id = EXCLUDED.organization_id, user_id = EXCLUDED.user_id, name = EXCLUDED.name,
    handle = EXCLUDED.handle, type = EXCLUDED.type, tone = EXCLUDED.tone, timezone = EXCLUDED.timezone,
    knowledge_base = EXCLUDED.knowledge_base, updated_at = now()
WHERE (workspaces.organization_id, workspaces.user_id, workspaces.name, workspaces.handle, workspaces.type,
       workspaces.tone, workspaces.timezone, workspaces.knowledge_base)
      IS DISTINCT FROM (EXCLUDED.organization_id, EXCLUDED.user_id, EXCLUDED.name, EXCLUDED.handle, EXCLUDED.type,
                        EXCLUDED.tone, EXCLUDED.timezone, EXCLUDED.knowledge_base);

-- workspace services
INSERT INTO workspace_services (id, workspace_id, name, description, duration_minutes, price_cents, active)
VALUES ('00000000-0000-4000-8000-000000000181', '00000000-0000-4000-8000-000000000171',
        'Discovery call', 'A free first conversation about your team and goals.', 30, NULL, true),
       ('00000000-0000-4000-8000-000000000182', '00000000-0000-4000-8000-000000000171',
        'Coaching session', 'One-on-one role-play and feedback for a rep.', 60, 15000, true)
ON CONFLICT (id) DO UPDATE
SET workspace_id = EXCLUDED.workspace_id, name = EXCLUDED.name, description = EXCLUDED.description,
    duration_minutes = EXCLUDED.duration_minutes, price_cents = EXCLUDED.price_cents, active = EXCLUDED.active,
    updated_at = now()
WHERE (workspace_services.workspace_id, workspace_services.name, workspace_services.description,
       workspace_services.duration_minutes, workspace_services.price_cents, workspace_services.active)
      IS DISTINCT FROM (EXCLUDED.workspace_id, EXCLUDED.name, EXCLUDED.description, EXCLUDED.duration_minutes,
                        EXCLUDED.price_cents, EXCLUDED.active);

-- connectors
INSERT INTO connectors (id, workspace_id, type, config, active)
VALUES ('00000000-0000-4000-8000-000000000191', '00000000-0000-4000-8000-000000000171',
        'calendly', '{"link": "https://calendly.com/demo"}', true)
ON CONFLICT (id) DO UPDATE
SET workspace_id = EXCLUDED.workspace_id, type = EXCLUDED.type, config = EXCLUDED.config, active = EXCLUDED.active,
    updated_at = now()
WHERE (connectors.workspace_id, connectors.type, connectors.config, connectors.active)
      IS DISTINCT FROM (EXCLUDED.workspace_id, EXCLUDED.type, EXCLUDED.config, EXCLUDED.active);

-- Goals: one for the demo admin.

-- goals
INSERT INTO goals (id, organization_id, user_id, title, description, target_date, status)
VALUES ('00000000-0000-4000-8000-0000000001a1', '00000000-0000-4000-8000-000000000001',
        '00000000-0000-4000-8000-000000000002', 'Close the Northwind pilot',
        'Get Northwind Logistics to sign a 30-day pilot of HelloSales Coach.', '2026-12-31', 'active')
ON CONFLICT (id) DO UPDATE
SET organization_id = EXCLUDED.organization_id, user_id = EXCLUDED.user_id, title = EXCLUDED.title,
    description = EXCLUDED.description, target_date = EXCLUDED.target_date, status = EXCLUDED.status,
    updated_at = now()
WHERE (goals.organization_id, goals.user_id, goals.title, goals.description, goals.target_date, goals.status)
      IS DISTINCT FROM (EXCLUDED.organization_id, EXCLUDED.user_id, EXCLUDED.title, EXCLUDED.description,
                        EXCLUDED.target_date, EXCLUDED.status);
