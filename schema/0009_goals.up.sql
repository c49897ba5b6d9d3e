-- Goals and the tasks the planner breaks them into (personal: their owner only). The scheduler
-- places a day's open tasks into slots; the voice control plane reaches the same rows through
-- intents.
CREATE TABLE goals (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description     text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    target_date     date,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'done', 'dropped')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- for goal_tasks' key: a task belongs to its goal's owner
    UNIQUE (user_id, id)
);
-- GET /goals: the caller's in their organization, newest first (user first: it also serves
-- deleting a user)
CREATE INDEX goals_user_created_idx ON goals (user_id, organization_id, created_at DESC, id DESC);
CREATE TRIGGER goals_set_updated_at BEFORE UPDATE ON goals
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- A goal's steps, in the planner's order (position). user_id repeats the goal's owner so that the
-- scheduler finds a user's open tasks across goals without a join; the composite key keeps the two
-- from disagreeing.
CREATE TABLE goal_tasks (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    goal_id          uuid NOT NULL,
    user_id          uuid NOT NULL,
    title            text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    estimate_minutes int NOT NULL CHECK (estimate_minutes BETWEEN 1 AND 1440),
    due_date         date,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'in_progress', 'done', 'failed')),
    position         int NOT NULL DEFAULT 0 CHECK (position >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (user_id, goal_id) REFERENCES goals (user_id, id) ON DELETE CASCADE
);
-- GET /goals/{id}/tasks in the planner's order
CREATE INDEX goal_tasks_goal_position_idx ON goal_tasks (goal_id, position, created_at);
-- POST /scheduler/plan: the user's open tasks, by due date
CREATE INDEX goal_tasks_user_open_idx ON goal_tasks (user_id, due_date)
    WHERE status IN ('pending', 'in_progress');
CREATE TRIGGER goal_tasks_set_updated_at BEFORE UPDATE ON goal_tasks
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();
