-- Reverts 0010_connector_activation.
DROP TRIGGER connectors_one_active ON connectors;
DROP FUNCTION connectors_deactivate_others();
