"""What the token API (/api/v1/) says about drivers, visits and movements."""

from rest_framework import serializers

from .models import Driver, Movement, Visit


class DriverBriefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="full_name")

    class Meta:
        model = Driver
        fields = ["id", "name", "company", "plate"]


class DriverSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="full_name")

    class Meta:
        model = Driver
        fields = ["id", "name", "license_number", "company", "plate", "phone", "created_at", "updated_at"]


class PresenceSerializer(serializers.ModelSerializer):
    visit_id = serializers.IntegerField(source="pk")
    driver = DriverBriefSerializer()
    entry_station = serializers.SlugRelatedField(slug_field="code", read_only=True)
    last_station = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Visit
        fields = ["visit_id", "driver", "plate", "entered_at", "entry_station", "last_station", "last_seen_at"]


class MovementSerializer(serializers.ModelSerializer):
    driver = DriverBriefSerializer()
    station = serializers.SlugRelatedField(slug_field="code", read_only=True)
    operator = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Movement
        fields = ["id", "driver", "station", "direction", "at", "recorded_at", "is_late", "source", "forced",
                  "force_reason", "plate", "visit_id", "operator", "annulled_at"]


class ScanRequestSerializer(serializers.Serializer):
    """The body of POST scans/ (documentation: it is parsed exactly as /api/scan/)."""

    code = serializers.CharField(help_text="The badge's text as scanned.")
    station = serializers.CharField(help_text="The station's code, e.g. G1.")
    nonce = serializers.CharField(required=False, help_text="1 to 64 of A-Z a-z 0-9 _ . : - ; a retry with "
                                  "the same nonce gets the first answer and records nothing new.")
    direction = serializers.ChoiceField(choices=["in", "out", "pass"], required=False)
    force = serializers.BooleanField(required=False)
    note = serializers.CharField(required=False, help_text="Required with force: the reason.")
    scanned_at = serializers.DateTimeField(required=False, help_text="When it was scanned (offline queue).")


class ScanAnswerSerializer(serializers.Serializer):
    """The answer of POST scans/, the same as /api/scan/'s."""

    accepted = serializers.BooleanField()
    reason = serializers.CharField()
    direction = serializers.CharField(allow_null=True)
    level = serializers.CharField()
    message = serializers.CharField()
    replayed = serializers.BooleanField()
    movement_id = serializers.IntegerField(allow_null=True)
    driver = serializers.DictField(allow_null=True)
    station = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)
