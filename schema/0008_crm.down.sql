-- Reverts 0008_crm.
DROP TABLE IF EXISTS webhook_events;
DROP TABLE IF EXISTS integrations;
DROP TABLE IF EXISTS memory_rules;
DROP TABLE IF EXISTS tasks;
DROP TABLE IF EXISTS contacts;
