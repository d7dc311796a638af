"""The QuickBooks Desktop fake: a company file behind QuickBooks' qbXML request processor, and
the Web Connector that relays it to an app's SOAP endpoint over real HTTP.

Console at /sandbox/qbd/ (company files, Web Connector apps with "Run now", sessions and their
logs). For code and tests:
    services.company_create, services.company_seed, services.record_create,
    services.record_modify, services.record_delete, services.invoice_create,
    services.fault_add                          QuickBooks' side, as its user would change it
    processor.process(company, request_xml)     a qbXML request message in, the response out
    processor.hcp_response(company, owner_id)   the first sendRequestXML's strHCPResponse
    webconnector.session_run(app)               one QBWC update, recorded on SandboxWcSession
    webconnector.apps_due_run()                 every enabled app whose interval has passed
"""
