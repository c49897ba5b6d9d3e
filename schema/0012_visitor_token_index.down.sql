-- Reverts 0012_visitor_token_index.
DROP INDEX IF EXISTS conversations_visitor_token_idx;
