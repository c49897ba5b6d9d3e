-- Coaching sessions and their turns. A session is personal (its owner only) inside an
-- organization: a chat with the coach, a practice role-play (Sailwind), or a voice session.
CREATE TABLE sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('chat', 'practice', 'voice')),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed')),
    -- what a practice session role-plays; the playbook rows must be of the session's organization.
    -- A playbook row removed later leaves the session (its history) with the reference cleared.
    client_id       uuid,
    product_id      uuid,
    strategy_id     uuid,
    assignment_id   uuid,
    score           int CHECK (score BETWEEN 0 AND 100),
    ended_at        timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, client_id) REFERENCES clients (organization_id, id)
        ON DELETE SET NULL (client_id),
    FOREIGN KEY (organization_id, product_id) REFERENCES products (organization_id, id)
        ON DELETE SET NULL (product_id),
    FOREIGN KEY (organization_id, strategy_id) REFERENCES strategies (organization_id, id)
        ON DELETE SET NULL (strategy_id),
    FOREIGN KEY (organization_id, assignment_id) REFERENCES rep_assignments (organization_id, id)
        ON DELETE SET NULL (assignment_id),
    -- only practice sessions role-play something
    CONSTRAINT sessions_practice_refs_check
        CHECK (kind = 'practice'
               OR (client_id IS NULL AND product_id IS NULL AND strategy_id IS NULL AND assignment_id IS NULL)),
    -- ended exactly when completed
    CONSTRAINT sessions_ended_check CHECK ((status = 'completed') = (ended_at IS NOT NULL))
);
-- GET /sessions: the caller's, newest first (user first: it also serves deleting a user)
CREATE INDEX sessions_user_created_idx ON sessions (user_id, organization_id, created_at DESC, id DESC);
-- GET /sailwind/my/practice-sessions: the same for practice only
CREATE INDEX sessions_user_practice_created_idx ON sessions (user_id, organization_id, created_at DESC, id DESC)
    WHERE kind = 'practice';
-- Removing a playbook row (an assignment when its rep leaves, anything when the organization
-- goes) clears it on the sessions that name it: small indexes, only practice sessions have them.
CREATE INDEX sessions_client_idx ON sessions (organization_id, client_id) WHERE client_id IS NOT NULL;
CREATE INDEX sessions_product_idx ON sessions (organization_id, product_id) WHERE product_id IS NOT NULL;
CREATE INDEX sessions_strategy_idx ON sessions (organization_id, strategy_id) WHERE strategy_id IS NOT NULL;
CREATE INDEX sessions_assignment_idx ON sessions (organization_id, assignment_id) WHERE assignment_id IS NOT NULL;
CREATE TRIGGER sessions_set_updated_at BEFORE UPDATE ON sessions
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION set_updated_at();

-- The turns of a session: {id, session_id, role, content, created_at, run_id}. Never edited.
CREATE TABLE interactions (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    -- may be empty (an assistant turn that only called tools); bounded by the default body limit
    content    text NOT NULL CHECK (char_length(content) <= 1048576),
    -- the pipeline run that produced it (assistant and tool turns); runs are not in this schema
    run_id     uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- GET /sessions/{id}/interactions: oldest first, ?since= strictly after a point
CREATE INDEX interactions_session_created_idx ON interactions (session_id, created_at, id);

-- The links 0004 and 0005 could not declare before these tables existed. Feedback names a session
-- of its own organization; a session or turn deleted later leaves the feedback and the
-- assessment behind, unlinked.
ALTER TABLE feedback
    ADD CONSTRAINT feedback_session_fkey FOREIGN KEY (organization_id, session_id)
        REFERENCES sessions (organization_id, id) ON DELETE SET NULL (session_id),
    ADD CONSTRAINT feedback_interaction_fkey FOREIGN KEY (interaction_id)
        REFERENCES interactions (id) ON DELETE SET NULL;
ALTER TABLE skill_assessments
    ADD CONSTRAINT skill_assessments_session_fkey FOREIGN KEY (session_id)
        REFERENCES sessions (id) ON DELETE SET NULL;
-- so that deleting a session or a turn does not scan all feedback and assessments
CREATE INDEX feedback_session_idx ON feedback (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX feedback_interaction_idx ON feedback (interaction_id) WHERE interaction_id IS NOT NULL;
CREATE INDEX skill_assessments_session_idx ON skill_assessments (session_id) WHERE session_id IS NOT NULL;
