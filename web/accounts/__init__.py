"""Accounts: who may come in and what they may do. Sign-in and sign-out (``auth``), the administration of users
(``admin``) and its operations with their audit events (``users``), the signed-in ``principal``, the role rules
every blueprint checks (``permissions``) and the server-side sessions that a password change or a deactivation
ends (``sessions``)."""
