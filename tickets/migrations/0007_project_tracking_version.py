from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0006_project_content_version"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="tracking_version",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
    ]
