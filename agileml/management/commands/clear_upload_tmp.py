"""``manage.py clear_upload_tmp``: remove upload temporary files left by processes that died."""

from django.conf import settings
from django.core.management.base import BaseCommand

from agileml.tmpfiles import remove_stale


class Command(BaseCommand):
    help = "Remove upload temporary files left under FILE_UPLOAD_TEMP_DIR by web processes that are gone."

    def handle(self, *args, **options) -> None:
        removed = remove_stale(settings.UPLOAD_TEMP_ROOT)
        if removed:
            self.stdout.write(f"Removed {len(removed)} stale upload temporary file(s) or folder(s).")
