-- Reverts 0009_goals.
DROP TABLE IF EXISTS goal_tasks;
DROP TABLE IF EXISTS goals;
