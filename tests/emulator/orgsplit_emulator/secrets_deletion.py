"""Secrets Manager: a secret scheduled for deletion, as AWS treats it.

AWS (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html and
the InvalidRequestException shape: "A parameter value is not valid for the current state of the
resource. Possible causes: The secret is scheduled for deletion. ...",
https://docs.aws.amazon.com/botocore/latest/reference/services/secretsmanager/client/exceptions/InvalidRequestException.html):

- CreateSecret of a name that is scheduled for deletion: InvalidRequestException "You can't
  create this secret because a secret with this name is already scheduled for deletion." (AWS's
  message as quoted in redpanda-data/console#1835 and ibm-mas/cli#937). moto 5.2.5 answers
  ResourceExistsException, the answer for a live secret.
- PutSecretValue on a secret scheduled for deletion: InvalidRequestException "You can't perform
  this operation on the secret because it was marked for deletion." (AWS's message, as quoted in
  external-secrets/kubernetes-external-secrets#114). moto 5.2.5 stores the new version.
- DeleteSecret's refusals (a second schedule, a window outside 7..30, a window with
  ForceDeleteWithoutRecovery): moto 5.2.5 has the right codes, but its messages carry the SDK's
  own prefix ("An error occurred (X) when calling the DeleteSecret operation: ") and a run of
  blanks from a line continuation; they are answered without both.

Already moto's and matching AWS (tests/test_cleanup_gaps.py): DescribeSecret shows `DeletedDate`,
GetSecretValue is InvalidRequestException, ListSecrets leaves the secret out unless
`IncludePlannedDeletion`, a second DeleteSecret without force is InvalidRequestException,
ForceDeleteWithoutRecovery deletes a scheduled secret and succeeds for a missing one ("If you
forcibly delete an already deleted or nonexistent secret, the operation does not return
ResourceNotFoundException", DeleteSecretRequest.ForceDeleteWithoutRecovery in the service model).
Corrections of moto's model: every client, the seeder too.
"""
from __future__ import annotations

import re

from .patching import install_once

CREATE_PENDING = "You can't create this secret because a secret with this name is already scheduled for deletion."
WRITE_PENDING = "You can't perform this operation on the secret because it was marked for deletion."
_SDK_PREFIX = re.compile(r"^An error occurred \(\w+\) when calling the \w+ operation: ")


def _clean(message: str) -> str:
    return re.sub(r"\s{2,}", " ", _SDK_PREFIX.sub("", message or "")).strip()


@install_once
def install() -> None:
    from moto.secretsmanager import exceptions, models

    backend = models.SecretsManagerBackend

    def pending(self, secret_id: str):  # type: ignore[no-untyped-def]
        if not self._is_valid_identifier(secret_id):
            return None
        secret = self.secrets[secret_id]
        return secret if isinstance(secret, models.FakeSecret) and secret.is_deleted() else None

    original_create = backend.create_secret

    def create_secret(self, name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if pending(self, name) is not None:
            raise exceptions.InvalidRequestException(CREATE_PENDING)
        return original_create(self, name, *args, **kwargs)

    original_put = backend.put_secret_value

    def put_secret_value(self, secret_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        if pending(self, secret_id) is not None:
            raise exceptions.InvalidRequestException(WRITE_PENDING)
        return original_put(self, secret_id, *args, **kwargs)

    original_delete = backend.delete_secret

    def delete_secret(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return original_delete(self, *args, **kwargs)
        except (exceptions.InvalidParameterException, exceptions.InvalidRequestException) as e:
            cleaned = _clean(e.message)
            if cleaned == e.message:
                raise
            raise type(e)(cleaned) from None

    backend.create_secret = create_secret
    backend.put_secret_value = put_secret_value
    backend.delete_secret = delete_secret
