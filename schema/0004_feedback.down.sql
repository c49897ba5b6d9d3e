-- Reverts 0004_feedback.
DROP TABLE IF EXISTS feedback;
