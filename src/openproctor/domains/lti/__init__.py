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
"""
