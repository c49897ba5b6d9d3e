-- Reverts 0006_sessions: first the links from 0004's and 0005's tables, then the tables.
DROP INDEX IF EXISTS skill_assessments_session_idx;
DROP INDEX IF EXISTS feedback_interaction_idx;
DROP INDEX IF EXISTS feedback_session_idx;
ALTER TABLE skill_assessments DROP CONSTRAINT IF EXISTS skill_assessments_session_fkey;
ALTER TABLE feedback DROP CONSTRAINT IF EXISTS feedback_interaction_fkey;
ALTER TABLE feedback DROP CONSTRAINT IF EXISTS feedback_session_fkey;
DROP TABLE IF EXISTS interactions;
DROP TABLE IF EXISTS sessions;
