"""One module per provider (`api_type`): the wire protocol of each server, behind `ChatProvider`."""
