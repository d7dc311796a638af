"""The QuickBooks Online fake: Intuit's OAuth server and Accounting API v3, faults included.

Mounted at /sandbox/qbo/ when SANDBOX_ENABLED (a connection's base URL overrides point there):
    connect/oauth2                      consent page (GET) and approve/deny (POST)
    oauth2/v1/tokens/bearer             code exchange and refresh (refresh tokens rotate)
    oauth2/v1/tokens/revoke             disconnect
    v3/company/<realm>/query            GET ?query= or POST application/text
    v3/company/<realm>/<entity>         POST create / update / ?operation=delete|void
    v3/company/<realm>/<entity>/<id>    GET read
    v3/company/<realm>/batch            POST, at most 30 items
    v3/company/<realm>/cdc              GET ?entities=&changedSince= (30 days back at most)
    v3/company/<realm>/companyinfo/<realm>

For the console and the seed (keyword-only, raise `errors.QboFault` with Intuit's codes):
    services.company_create, services.record_create, services.record_update,
    services.record_deactivate, services.record_delete, services.record_void,
    selectors.record_get, selectors.query_run, oauth.grant_create (tokens without a browser),
    webhooks.webhook_signature.
"""
