"""DRF's unnamed tokens (stored in plain text) become named tokens stored as hashes.

Clients keep sending the same token: it is found by its first characters and its hash.
"""

from django.db import migrations
from knox.crypto import hash_token
from knox.settings import CONSTANTS

NAME = "Unnamed (made before named tokens)"


def hash_unnamed_tokens(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("accounts", "ApiToken")
    for token in Token.objects.all():
        made = ApiToken(
            user_id=token.user_id,
            token_key=token.key[: CONSTANTS.TOKEN_KEY_LENGTH],
            digest=hash_token(token.key),
            name=NAME,
            expiry=None,
        )
        made.save()
        ApiToken.objects.filter(pk=made.pk).update(created=token.created)
        token.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(hash_unnamed_tokens, migrations.RunPython.noop)]
