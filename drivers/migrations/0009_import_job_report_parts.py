# The per-row report of an import in one part per chunk (ImportJobReport) instead of one
# JSON list on the job rewritten by every chunk; a report already written becomes one part.

import django.db.models.deletion
from django.db import migrations, models


def move_reports(apps, schema_editor):
    ImportJob = apps.get_model("drivers", "ImportJob")
    ImportJobReport = apps.get_model("drivers", "ImportJobReport")
    for job in ImportJob.objects.only("pk", "rows").iterator():
        if job.rows:
            ImportJobReport.objects.create(job_id=job.pk, first_row=0, rows=job.rows)


def join_reports(apps, schema_editor):
    ImportJob = apps.get_model("drivers", "ImportJob")
    ImportJobReport = apps.get_model("drivers", "ImportJobReport")
    for job in ImportJob.objects.only("pk").iterator():
        parts = ImportJobReport.objects.filter(job_id=job.pk).order_by("first_row").values_list("rows", flat=True)
        ImportJob.objects.filter(pk=job.pk).update(rows=[row for part in parts for row in part])


class Migration(migrations.Migration):

    dependencies = [
        ('drivers', '0008_import_job'),
    ]

    operations = [
        migrations.CreateModel(
            name='ImportJobReport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('first_row', models.PositiveIntegerField()),
                ('rows', models.JSONField(default=list)),
                ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reports', to='drivers.importjob')),
            ],
            options={
                'ordering': ['job', 'first_row'],
                'constraints': [models.UniqueConstraint(fields=('job', 'first_row'), name='drivers_importjobreport_once')],
            },
        ),
        migrations.RunPython(move_reports, join_reports),
        migrations.RemoveField(
            model_name='importjob',
            name='rows',
        ),
    ]
