"""LTI 1.3: OpenProctor as a tool that learning platforms (Moodle, Canvas, ...) launch.

models.py   registered platforms, the tool's key pair, pending logins, linked accounts, links
keys.py     the tool's own key pair (served at /lti/jwks) and the platforms' public keys
launch.py   OIDC login initiation and id_token validation (no database, no HTTP)
service.py  platforms, pending logins, and what a validated launch does (users, candidates)
links.py    which exam a launch opens: resource links bound to exams, exams in use by a platform
deep_linking.py  Deep Linking 2.0: the pending request and the signed LtiDeepLinkingResponse
flows.py    registrations and the deep linking answer, audited and committed
proctoring.py  LTI Proctoring Services messages: LtiStartProctoring, the signed
            LtiStartAssessment hand-back, LtiEndAssessment (tables in proctoring_models.py)
control.py  Assessment Control requests our proctors' actions queue; control_deliverer.py
            sends them (access.py: the OAuth 2 access token for platform services)
routes.py   /api/v1/lti/platforms (admins) and the tool endpoints /lti/login, /lti/launch,
            /lti/jwks (called by the platform and the browser; no CSRF check, no session)

LTI Advantage services (the tool calling the platform):
access.py            OAuth 2 access tokens (client credentials, JWT assertion), cached
calls.py             one bearer-token request to a platform service, bounded
advantage_models.py  service endpoints per resource link, LTI learners, the score outbox
service_links.py     what a launch announced, kept per resource link; who sees the course page
grades.py            the AGS Score of an attempt, queued when it ends and when it is decided
passback.py          sends queued scores (line item found or made), in the webhooks' thread
roster.py            NRPS: the course's learners, compared with the candidates and applied
course_routes.py     /api/v1/exams/{id}/roster-sync and /grade-sync
"""
