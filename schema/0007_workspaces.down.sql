-- Reverts 0007_workspaces: children before parents.
DROP TABLE IF EXISTS conversation_messages;
DROP TABLE IF EXISTS conversations;
DROP TABLE IF EXISTS connectors;
DROP TABLE IF EXISTS workspace_services;
DROP TABLE IF EXISTS workspaces;
DROP FUNCTION IF EXISTS conversations_tags_ok(text[]);
