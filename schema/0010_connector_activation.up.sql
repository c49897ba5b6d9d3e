-- Activating a connector deactivates the workspace's other connectors, in the same statement and
-- whoever writes (the API, the seed, an operator's SQL). A BEFORE trigger runs ahead of the row's
-- unique-index check, so connectors_one_active_idx never sees two active rows; two concurrent
-- activations in one workspace still meet that index, and the later one fails (409) instead of
-- leaving two active.
CREATE FUNCTION connectors_deactivate_others() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE connectors SET active = false
     WHERE workspace_id = NEW.workspace_id AND active AND id <> NEW.id;
    RETURN NEW;
END
$$;

CREATE TRIGGER connectors_one_active BEFORE INSERT OR UPDATE OF active, workspace_id ON connectors
    FOR EACH ROW WHEN (NEW.active) EXECUTE FUNCTION connectors_deactivate_others();
