-- A visitor token is looked up on its own (an unknown token is a 401, another conversation's a
-- 404), so its hash needs an index; tokens are 256 random bits, so the index is also unique.
CREATE UNIQUE INDEX conversations_visitor_token_idx ON conversations (visitor_token_hash);
