-- Feedback from users on the product and on the assistant's answers: POST /api/v1/feedback
-- ({category, message, rating 1-5, session_id?, interaction_id?}) and the WebSocket `feedback`
-- frame ({interaction_id, rating, comment?}). Admins read their organization's
-- (GET /api/v1/admin/feedback). Rows are written once and never edited, hence no updated_at.
CREATE TABLE feedback (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category        text NOT NULL CHECK (char_length(category) BETWEEN 1 AND 50),
    -- required by POST /feedback; NULL only for a WebSocket rating sent without a comment
    message         text CHECK (char_length(message) BETWEEN 1 AND 5000),
    rating          int NOT NULL CHECK (rating BETWEEN 1 AND 5),
    -- what the feedback is about. The foreign keys (to sessions and interactions, which come in
    -- 0006) are added there; a session or turn deleted later leaves the feedback, unlinked.
    session_id      uuid,
    interaction_id  uuid,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- GET /admin/feedback: the organization's, newest first
CREATE INDEX feedback_org_created_idx ON feedback (organization_id, created_at DESC, id DESC);
