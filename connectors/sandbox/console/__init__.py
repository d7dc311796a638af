"""The sandbox console at /sandbox/: the fakes' companies and records (with forms that write
through the fakes' services), the request log, fault settings and outbound deliveries."""
