"""Local fakes of Zoho Accounts (OAuth), Zoho CRM v8 and Zoho Books v3, mounted at
`/sandbox/zoho/` under Zoho's own paths, so the product reaches them by base URL alone:
accounts server `<host>/sandbox/zoho/accounts`, api_domain `<host>/sandbox/zoho`.

Layout: `models` (state, all in the database); `accounts` + `accounts_views` (OAuth);
`crm_schema` (modules and fields as data), `crm_validate`, `crm_records` (writes),
`crm_query` + `crm_search` (reads), `crm_watch` (notification channels), `crm_api` (token,
scope and limits), `crm_views`; `books_core`, `books_contacts`, `books_sales`, `books_list`,
`books_webhooks`, `books_views`; `services` (the public operations for the console and seed).
"""
